"""PyTorch models that hold their own parameters (nn.Parameter layers in either orientation,
functional calls, addmm/matmul forms), and the two mistakes whose hints were missing,
transplanted from real code.

Same format and provenance rules as real_world.py (read its docstring), which loads this file and
gives it ``Variant`` before it runs; ids start with ``rw_``.

The checks of MultiClassNet build the model with sizes (2, 5, 3), (4, 7, 2) and (3, 6, 4): no
weight is square and the two biases never have the same size, so the shapes alone say which
reference parameter each of a model's parameters holds (and whether transposed). The matching by
behaviour for square sizes (grader_tests/test_multiclassnet.py, ``matchings``) is therefore not
reached through these variants.
"""

MUTANTS = [
    # == forward_pass =============================================================================
    # Source: MorvanZhou/Evolutionary-Algorithm tutorial-contents/Using Neural Nets/Evolution Strategy
    #         with Neural Nets.py (get_action: x = np.tanh(x.dot(params[0]) + params[1]), one line per
    #         layer with hard-coded positions in the flat parameter list)
    # Habit: one line per layer, indexing params by position; the hidden line is copied for the
    #        output layer and only the weight's index is edited, so the output adds params[1] (b_1).
    Variant(id="rw_forward_pass_morvan_copied_bias_index", part="forward_pass", hint="bias_index", code="""
        def forward_pass(params, X):
            X = jnp.tanh(X.dot(params[0]) + params[1])
            return X.dot(params[2]) + params[1]
    """),
    # Source: MorvanZhou/Evolutionary-Algorithm tutorial-contents/Using Neural Nets/Evolution Strategy
    #         with Neural Nets.py (get_action, as above)
    # Habit: the same positional lines written output-first and copied upwards: the hidden layer keeps
    #        the output's bias, params[3] (b_2), and b_1 is never used.
    Variant(id="rw_forward_pass_morvan_hidden_takes_b2", part="forward_pass", hint="bias_index", code="""
        def forward_pass(params, X):
            hidden = jnp.tanh(X.dot(params[0]) + params[3])
            return hidden.dot(params[2]) + params[3]
    """),

    # == cross_entropy_loss =======================================================================
    # Source: cs231n/cs231n.github.io neural-networks-case-study.md (num_examples = X.shape[0] set once
    #         before the training loop; corect_logprobs = -np.log(probs[range(num_examples), y]) inside)
    # Habit: the loss lifted out of the case study's loop keeps its globals: the notebook's sample count
    #        and integer labels y. On a batch of another size nothing raises (JAX clamps the row
    #        indices), the value is just wrong.
    Variant(id="rw_loss_cs231n_global_count_and_labels", part="cross_entropy_loss", hint="reads_global", code="""
        num_examples = X.shape[0]


        def cross_entropy_loss(params, X, Y_true):
            probs = softmax(forward_pass(params, X))
            corect_logprobs = -jnp.log(probs[jnp.arange(num_examples), y])
            return jnp.sum(corect_logprobs) / num_examples
    """),
    # Source: xstraven/research src/research/stats/logistic_regression.py (the JAX autodiff cookbook's
    #         loss(W, b): preds = predict(W, b, inputs), with inputs and targets taken from the module)
    # Habit: a loss that closes over the training targets of the notebook (here Y_onehot, turned into
    #        labels) instead of the Y_true it is given.
    Variant(id="rw_loss_cookbook_global_targets", part="cross_entropy_loss", hint="reads_global", code="""
        def cross_entropy_loss(params, X, Y_true):
            log_probs = jax.nn.log_softmax(forward_pass(params, X), axis=1)
            targets = jnp.argmax(Y_onehot, axis=1)
            return -jnp.mean(log_probs[jnp.arange(targets.shape[0]), targets])
    """),
]

ALTERNATIVES = [
    # == MultiClassNet ============================================================================
    # Source: bschink/dive-into-deep-learning models/mlp_scratch.py (d2l's MLPScratch:
    #         W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma), torch.matmul(X, W1) + b1)
    # Habit: d2l's MLP from scratch: weights of its own, stored (in, out), and X @ W + b.
    Variant(id="rw_net_d2l_scratch_parameters", part="MultiClassNet", code="""
        class MultiClassNet(nn.Module):
            def __init__(self, n_input, n_hidden, n_output, sigma=0.01):
                super().__init__()
                self.n_input = n_input
                self.W1 = nn.Parameter(torch.randn(n_input, n_hidden) * sigma)
                self.b1 = nn.Parameter(torch.zeros(n_hidden))
                self.W2 = nn.Parameter(torch.randn(n_hidden, n_output) * sigma)
                self.b2 = nn.Parameter(torch.zeros(n_output))

            def forward(self, X):
                X = X.reshape((-1, self.n_input))
                H = torch.tanh(torch.matmul(X, self.W1) + self.b1)
                return torch.matmul(H, self.W2) + self.b2
    """),
    # Source: dragen1860/MAML-Pytorch learner.py (self.vars = nn.ParameterList(); linear weights
    #         [ch_out, ch_in]; forward(x, vars=None) with F.linear(x, w, b); parameters() overridden)
    # Habit: MAML's Learner: a flat nn.ParameterList in nn.Linear's (out, in) layout, F.linear calls,
    #        an optional list of "fast weights" in forward.
    Variant(id="rw_net_maml_parameterlist_f_linear", part="MultiClassNet", code="""
        from torch.nn import functional as F

        class MultiClassNet(nn.Module):
            def __init__(self, n_input, n_hidden, n_output):
                super().__init__()
                self.vars = nn.ParameterList()
                for ch_out, ch_in in ((n_hidden, n_input), (n_output, n_hidden)):
                    w = nn.Parameter(torch.ones(ch_out, ch_in))
                    torch.nn.init.kaiming_normal_(w)
                    self.vars.append(w)
                    self.vars.append(nn.Parameter(torch.zeros(ch_out)))

            def forward(self, x, vars=None):
                if vars is None:
                    vars = self.vars
                x = F.tanh(F.linear(x, vars[0], vars[1]))
                return F.linear(x, vars[2], vars[3])

            def parameters(self):
                return self.vars
    """),
    # Source: xta0/Python-Playground ml/linear-regression/model/code/__torch__/torch/nn/modules/module.py
    #         (TorchScript's code of nn.Linear: torch.addmm(self.bias, input, torch.t(self.weight)))
    # Habit: the linear layers written as torch.addmm(bias, input, weight.t()), weights (out, in).
    Variant(id="rw_net_torchscript_addmm", part="MultiClassNet", code="""
        class MultiClassNet(nn.Module):
            def __init__(self, n_input, n_hidden, n_output):
                super().__init__()
                self.weight1 = nn.Parameter(torch.randn(n_hidden, n_input) / n_input ** 0.5)
                self.bias1 = nn.Parameter(torch.zeros(n_hidden))
                self.weight2 = nn.Parameter(torch.randn(n_output, n_hidden) / n_hidden ** 0.5)
                self.bias2 = nn.Parameter(torch.zeros(n_output))

            def forward(self, input):
                hidden = torch.tanh(torch.addmm(self.bias1, input, torch.t(self.weight1), beta=1, alpha=1))
                return torch.addmm(self.bias2, hidden, torch.t(self.weight2), beta=1, alpha=1)
    """),
    # Source: hhsecond/HandsOnDeepLearningWithPytorch 2.ASimpleNeuralNetwork/custom_linear_layer.py
    #         (class Linear(torch.nn.Module): weight Parameter(out_features, in_features),
    #         input.matmul(self.weight.t()) + self.bias)
    # Habit: a Linear layer class of one's own (weight (out, in), matmul with its transpose), used
    #        twice inside the model.
    Variant(id="rw_net_own_linear_class_matmul_t", part="MultiClassNet", code="""
        class Linear(torch.nn.Module):
            def __init__(self, in_features, out_features):
                super(Linear, self).__init__()
                self.weight = torch.nn.Parameter(torch.randn(out_features, in_features) * 0.1)
                self.bias = torch.nn.Parameter(torch.zeros(out_features))

            def forward(self, input):
                return input.matmul(self.weight.t()) + self.bias


        class MultiClassNet(nn.Module):
            def __init__(self, n_input, n_hidden, n_output):
                super().__init__()
                self.hidden = Linear(n_input, n_hidden)
                self.output = Linear(n_hidden, n_output)

            def forward(self, X):
                return self.output(torch.tanh(self.hidden(X)))
    """),
    # Source: udacity/deep-learning-v2-pytorch intro-to-pytorch/Part 1 - Tensors in PyTorch (Solution).ipynb
    #         (W1 = torch.randn(n_input, n_hidden), B1 = torch.randn((1, n_hidden)),
    #         h = activation(torch.mm(features, W1) + B1))
    # Habit: Udacity's first network: weights (in, out), biases as (1, n) rows, torch.mm; here as
    #        nn.Parameters, the output layer's registered first.
    Variant(id="rw_net_udacity_row_biases", part="MultiClassNet", code="""
        class MultiClassNet(nn.Module):
            def __init__(self, n_input, n_hidden, n_output):
                super().__init__()
                self.W2 = nn.Parameter(torch.randn(n_hidden, n_output))
                self.B2 = nn.Parameter(torch.randn((1, n_output)))
                self.W1 = nn.Parameter(torch.randn(n_input, n_hidden))
                self.B1 = nn.Parameter(torch.randn((1, n_hidden)))

            def forward(self, features):
                h = torch.tanh(torch.mm(features, self.W1) + self.B1)
                return torch.mm(h, self.W2) + self.B2
    """),
]

ALSO_TRUE = {}
