"""Training loops that react to the loss value (stop early below a limit, stop on a plateau,
shrink the learning rate when the loss rises), transplanted from real code.

Same format and provenance rules as real_world.py (read its docstring), which loads this file and
gives it ``Variant`` before it runs; ids start with ``rw_``.

The exercise's contract leaves no room for any of these reactions: exactly n_iter steps of
``params - lr * grads`` with the lr given, the loss of each step recorded, the params of the last
step returned. The grader's probe loss falls below 1e-6, stays flat and rises now and then, so
these loops do react; the hint is ``reacts_to_loss``. The alternatives look at the loss too
(print it, remember the best one) but never act on it.
"""

MUTANTS = [
    # Source: pytorch/examples regression/main.py ("# Stop criterion": `if loss < 1e-3: break`
    #         after each step)
    # Habit: training stops as soon as the loss falls below a fixed limit.
    Variant(id="rw_train_stop_below_limit", part="train_nn", hint="reacts_to_loss", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(0))
            params = (random.normal(k1, (X.shape[1], n_hidden)) * 0.5, jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])) * 0.5, jnp.zeros(Y_true.shape[1]))
            loss_and_grads = jit(jax.value_and_grad(loss_func))
            loss_history = []
            for i in range(n_iter):
                output, grads = loss_and_grads(params, X, Y_true)
                loss = float(output)
                params = update_params(params, grads, lr)
                loss_history.append(loss)
                # Stop criterion
                if loss < 1e-3:
                    break
            return params, loss_history
    """),
    # Source: https://community.deeplearning.ai/t/dynamic-adjustment-of-the-learning-rate/193495
    #         (a Machine Learning Specialization learner's loop: "see if the cost went down by less
    #         than 1% during the most recent iteration" as its test for convergence)
    # Habit: an automatic convergence test on the relative change of the cost, instead of a fixed
    #        number of iterations.
    Variant(id="rw_train_stop_on_small_change", part="train_nn", hint="reacts_to_loss", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(0))
            params = (random.normal(k1, (X.shape[1], n_hidden)) * 0.5, jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])) * 0.5, jnp.zeros(Y_true.shape[1]))
            grad_fn = jit(jax.grad(loss_func))
            J_history = []
            for i in range(n_iter):
                J = float(loss_func(params, X, Y_true))
                if J_history and J_history[-1] - J < 0.01 * J_history[-1]:
                    break  # converged: the cost went down by less than 1 %
                J_history.append(J)
                params = update_params(params, grad_fn(params, X, Y_true), lr)
            return params, J_history
    """),
    # Source: MichalDanielDobrzanski/DeepLearningPython elements/network2.py (the Python 3 port of
    #         Nielsen's network2 with `early_stopping_n`: return once the monitored number has not
    #         improved for n epochs in a row)
    # Habit: patience-based early stopping, here on the training loss: stop after `patience` steps
    #        without an improvement on the best loss.
    Variant(id="rw_train_patience_no_improvement", part="train_nn", hint="reacts_to_loss", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(0))
            params = (random.normal(k1, (X.shape[1], n_hidden)) * 0.5, jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])) * 0.5, jnp.zeros(Y_true.shape[1]))
            step = jit(jax.value_and_grad(loss_func))
            early_stopping_n, tol = 5, 1e-6
            best_loss, no_loss_change = float("inf"), 0
            loss_history = []
            for epoch in range(n_iter):
                loss, grads = step(params, X, Y_true)
                params = update_params(params, grads, lr)
                loss_history.append(float(loss))
                if float(loss) < best_loss - tol:
                    best_loss, no_loss_change = float(loss), 0
                else:
                    no_loss_change += 1
                if no_loss_change == early_stopping_n:
                    break
            return params, loss_history
    """),
    # Source: https://community.deeplearning.ai/t/dynamic-adjustment-of-the-learning-rate/193495
    #         ("if I see the cost J increase, I divide the learning rate in half for the next
    #         iteration")
    # Habit: the learning rate is halved whenever the cost goes up.
    Variant(id="rw_train_halve_lr_on_rise", part="train_nn", hint="reacts_to_loss", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(0))
            params = (random.normal(k1, (X.shape[1], n_hidden)) * 0.5, jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])) * 0.5, jnp.zeros(Y_true.shape[1]))
            cost_and_grads = jit(jax.value_and_grad(loss_func))
            learning_rate = lr
            J_history = []
            for i in range(n_iter):
                J, grads = cost_and_grads(params, X, Y_true)
                if J_history and float(J) > J_history[-1]:
                    learning_rate = learning_rate / 2  # the cost went up: the step was too big
                J_history.append(float(J))
                params = update_params(params, grads, learning_rate)
            return params, J_history
    """),
    # Source: ageron/handson-ml2 04_training_linear_models.ipynb (exercise 12, softmax regression
    #         with early stopping: `if loss < best_loss: best_loss = loss` / `else: ... break`)
    # Habit: early stopping as soon as the loss stops going down, applied to the training loss.
    Variant(id="rw_train_stop_when_loss_rises", part="train_nn", hint="reacts_to_loss", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(42))
            params = (random.normal(k1, (X.shape[1], n_hidden)), jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])), jnp.zeros(Y_true.shape[1]))
            gradient = jit(jax.grad(loss_func))
            best_loss = np.inf
            loss_history = []
            for iteration in range(n_iter):
                loss = float(loss_func(params, X, Y_true))
                if loss < best_loss:
                    best_loss = loss
                else:
                    print(iteration, loss, "early stopping!")
                    break
                loss_history.append(loss)
                params = update_params(params, gradient(params, X, Y_true), lr)
            return params, loss_history
    """),
    # Source: ageron/handson-ml2 04_training_linear_models.ipynb (early stopping with SGDRegressor:
    #         `if val_error < minimum_val_error: ... best_model = deepcopy(sgd_reg)`)
    # Habit: keep a copy of the model of the lowest error and use that one at the end.
    Variant(id="rw_train_returns_best_params", part="train_nn", hint="reacts_to_loss", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(0))
            params = (random.normal(k1, (X.shape[1], n_hidden)) * 0.5, jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])) * 0.5, jnp.zeros(Y_true.shape[1]))
            step = jit(jax.value_and_grad(loss_func))
            minimum_loss, best_params = float("inf"), params
            loss_history = []
            for epoch in range(n_iter):
                params = update_params(params, step(params, X, Y_true)[1], lr)
                loss = float(loss_func(params, X, Y_true))
                loss_history.append(loss)
                if loss < minimum_loss:
                    minimum_loss, best_params = loss, params
            return best_params, loss_history
    """),
]

ALTERNATIVES = [
    # Source: DataforProgress/dcm dcmpy/fit.py (`grad_update` with jax.tree_util.tree_map, the loss
    #         printed every 500 iterations) and ageron/handson-ml2 04_training_linear_models.ipynb
    #         (`if iteration % 500 == 0: print(iteration, loss)`)
    # Habit: the update written out with tree_map, the loss taken after the step and printed every
    #        k iterations (looked at, never acted on).
    Variant(id="rw_train_tree_map_prints_every_k", part="train_nn", code="""
        def grad_update(params, grads, lr):
            return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


        def train_nn(X, Y_true, n_iter, lr, loss_func, verbose=True):
            n_hidden = 16
            k1, k2 = random.split(random.PRNGKey(1))
            scale_1, scale_2 = jnp.sqrt(1.0 / X.shape[1]), jnp.sqrt(1.0 / n_hidden)
            params = (random.normal(k1, (X.shape[1], n_hidden)) * scale_1, jnp.zeros(n_hidden),
                      random.normal(k2, (n_hidden, Y_true.shape[1])) * scale_2, jnp.zeros(Y_true.shape[1]))
            loss_grad = jax.jit(jax.grad(loss_func))
            loss_history = []
            for i in range(n_iter):
                params = grad_update(params, loss_grad(params, X, Y_true), lr)
                loss = loss_func(params, X, Y_true)
                loss_history.append(float(loss))
                if i % 10 == 0 and verbose:
                    print(i, float(loss))
            return params, loss_history
    """),
    # Source: pytorch/examples imagenet/main.py ("remember best acc@1 and save checkpoint":
    #         `is_best = acc1 > best_acc1; best_acc1 = max(acc1, best_acc1)`, training goes on)
    # Habit: the best value so far and its parameters are remembered for a report, the loop runs
    #        to the end and the last parameters are the result.
    Variant(id="rw_train_remembers_best_runs_on", part="train_nn", code="""
        def train_nn(X, Y_true, n_iter, lr, loss_func):
            n_hidden = 16
            key_1, key_2 = random.split(random.PRNGKey(0))
            limit_1 = jnp.sqrt(6.0 / (X.shape[1] + n_hidden))
            limit_2 = jnp.sqrt(6.0 / (n_hidden + Y_true.shape[1]))
            params = (random.uniform(key_1, (X.shape[1], n_hidden), minval=-limit_1, maxval=limit_1),
                      jnp.zeros(n_hidden),
                      random.uniform(key_2, (n_hidden, Y_true.shape[1]), minval=-limit_2, maxval=limit_2),
                      jnp.zeros(Y_true.shape[1]))
            loss_and_grads = jit(jax.value_and_grad(loss_func))
            best_loss, best_iteration, best_params = float("inf"), -1, params
            loss_history = []
            for iteration in range(n_iter):
                loss, grads = loss_and_grads(params, X, Y_true)
                # remember the best loss (and its params) for the report
                is_best = float(loss) < best_loss
                best_loss = min(float(loss), best_loss)
                if is_best:
                    best_iteration, best_params = iteration, params
                loss_history.append(loss)
                params = update_params(params, grads, lr)
            print(f"best loss {best_loss:.4g} at iteration {best_iteration}")
            return params, loss_history
    """),
]

ALSO_TRUE = {}
