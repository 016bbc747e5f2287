"""The same one-hidden-layer MLP as an nn.Module, and its training loop."""

import torch
from torch import nn


class MultiClassNet(nn.Module):
    """Linear -> tanh -> Linear; returns logits.

    Args:
        n_input: input features D.
        n_hidden: hidden units H.
        n_output: classes C.
    """

    def __init__(self, n_input=2, n_hidden=16, n_output=3):
        super().__init__()
        self.hidden = nn.Linear(n_input, n_hidden)
        self.output = nn.Linear(n_hidden, n_output)

    def forward(self, X):
        """X: (N, D) -> (N, C) logits."""
        return self.output(torch.tanh(self.hidden(X)))


def train_multiclass_net(model, X, y, n_iter, lr):
    """Full-batch SGD with nn.CrossEntropyLoss (which takes logits and integer labels).

    Args:
        model: an nn.Module mapping (N, D) to (N, C) logits.
        X: (N, D) float tensor.
        y: (N,) long tensor of class labels.
        n_iter: number of steps.
        lr: learning rate.

    Returns:
        list of n_iter floats, the loss before each step.
    """
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(n_iter):
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history
