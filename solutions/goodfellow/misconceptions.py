"""Known mistakes in the goodfellow assignment."""

import numpy as np

from grader.diagnose import mistake


def _forward(x, h0, b, c, U, V, W, use_h0=True):
    h = np.zeros((len(x), len(h0)))
    prev = h0 if use_h0 else np.zeros_like(h0)
    for t in range(len(x)):
        prev = np.tanh(b + W @ prev + U @ x[t])
        h[t] = prev
    o = c + h @ V.T
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def _grad_h(go, h, V, W):
    g = np.zeros_like(h)
    g[-1] = V.T @ go[-1]
    for t in range(len(h) - 2, -1, -1):
        g[t] = V.T @ go[t] + W.T @ ((1 - h[t + 1] ** 2) * g[t + 1])
    return g


def _bptt(x, y, h0, b, c, U, V, W, use_h0=True, shift=True, sum_b=True, sum_c=True):
    h, y_hat = _forward(x, h0, b, c, U, V, W, use_h0)
    go = y_hat.copy()
    go[np.arange(len(y)), np.asarray(y, dtype=int)] -= 1.0
    ga = (1 - h**2) * _grad_h(go, h, V, W)
    prev = np.vstack([h0[None], h[:-1]]) if shift else h
    return {"b": ga.sum(axis=0) if sum_b else ga[-1], "c": go.sum(axis=0) if sum_c else go[-1],
            "U": ga.T @ x, "V": go.T @ h, "W": ga.T @ prev}


@mistake("goodfellow-jacobian-diagonal-only", "softmax_jacobian", "the - yhat yhat^T term left out",
         """Every output of the softmax depends on every input through the shared denominator, so the Jacobian is
         diag(yhat) - yhat yhat^T: off the diagonal, d yhat_i / d o_j = -yhat_i yhat_j. Keeping only diag(yhat)
         treats the softmax as if it acted on each entry separately.""")
def jacobian_diagonal(y_hat):
    return np.diag(y_hat)


@mistake("goodfellow-jacobian-sigmoid-style", "softmax_jacobian", "yhat_i (1 - yhat_j) on every entry",
         """yhat_i (1 - yhat_i) is the derivative of a sigmoid, and the softmax's diagonal looks like it; but off the
         diagonal there is no 1: J[i, j] = yhat_i (delta_ij - yhat_j), i.e. -yhat_i yhat_j for i != j.""")
def jacobian_sigmoid_style(y_hat):
    return np.outer(y_hat, 1 - y_hat)


@mistake("goodfellow-grad-o-sign", "grad_o", "onehot - yhat instead of yhat - onehot",
         """The gradient of -log yhat[y] with respect to the scores o is yhat - onehot(y) (eq. 10.18): positive for the
         wrong classes, whose scores must go down. onehot - yhat is the negative gradient.""")
def grad_o_sign(y_hat, y):
    g = -np.array(y_hat, dtype=float)
    g[np.arange(len(y)), np.asarray(y, dtype=int)] += 1.0
    return g


@mistake("goodfellow-grad-o-all-classes", "grad_o", "1 subtracted from every class",
         """Only the true class's entry gets the -1: d(-log yhat_y)/d o_i = yhat_i - [i = y]. Subtracting 1 from
         every entry forgets the indicator.""")
def grad_o_all(y_hat, y):
    return np.array(y_hat, dtype=float) - 1.0


@mistake("goodfellow-tanh-derivative-wrong-step", "grad_h", "diag(1 - h**2) taken at step t instead of t + 1",
         """h[t] reaches the loss through a[t+1] = b + W h[t] + U x[t+1], and h[t+1] = tanh(a[t+1]), so the factor is
         diag(1 - h[t+1]**2) (eq. 10.21): the derivative of the *next* step's tanh, not this one's.""")
def grad_h_wrong_step(grad_o, h, V, W):
    g = np.zeros_like(h)
    g[-1] = V.T @ grad_o[-1]
    for t in range(len(h) - 2, -1, -1):
        g[t] = V.T @ grad_o[t] + W.T @ ((1 - h[t] ** 2) * g[t + 1])
    return g


@mistake("goodfellow-grad-h-untransposed", "grad_h", "W where W^T belongs",
         """The forward pass multiplies h[t] by W; going back, the gradient is multiplied by W^T. W is square, so W
         instead of W^T runs and gives wrong values.""")
def grad_h_untransposed(grad_o, h, V, W):
    g = np.zeros_like(h)
    g[-1] = V.T @ grad_o[-1]
    for t in range(len(h) - 2, -1, -1):
        g[t] = V.T @ grad_o[t] + W @ ((1 - h[t + 1] ** 2) * g[t + 1])
    return g


@mistake("goodfellow-no-recurrence", "grad_h", "the path through h[t+1] left out",
         """h[t] affects the loss twice: through o[t], and through every later step via h[t+1]. Keeping only
         V^T grad_o[t] drops the second path, which is the whole point of backpropagation *through time*.""")
def grad_h_no_recurrence(grad_o, h, V, W):
    return grad_o @ V


@mistake("goodfellow-upstream-last-step-only", "grad_h", "the output gradient used only at the last step",
         """Every step has an output and a loss term, so V^T grad_o[t] is added at every t (eq. 10.21), not only at
         the last step (eq. 10.19).""")
def grad_h_last_only(grad_o, h, V, W):
    g = np.zeros_like(h)
    g[-1] = V.T @ grad_o[-1]
    for t in range(len(h) - 2, -1, -1):
        g[t] = W.T @ ((1 - h[t + 1] ** 2) * g[t + 1])
    return g


@mistake("goodfellow-h0-ignored", "bptt", "h0 ignored",
         """The first step uses the given initial state: a[1] = b + W h0 + U x[1]. Starting from zeros changes every
         state, and dL/dW misses the h0 term of its sum.""")
def bptt_no_h0(x, y, h0, b, c, U, V, W):
    return _bptt(x, y, h0, b, c, U, V, W, use_h0=False)


@mistake("goodfellow-unshifted-states", "bptt", "dL/dW built from h[t] instead of h[t-1]",
         """W multiplies the previous state, so dL/dW = sum_t diag(1 - h[t]**2) grad_h[t] h[t-1]^T (eq. 10.26), with
         h[0] = h0 for the first step. Pairing each step's gradient with h[t] uses the wrong state.""")
def bptt_unshifted(x, y, h0, b, c, U, V, W):
    return _bptt(x, y, h0, b, c, U, V, W, shift=False)


@mistake("goodfellow-bias-not-summed", "bptt", "bias gradients not summed over time",
         """b and c are used at every step, so their gradients are sums over t (eqs. 10.22 and 10.23). Keeping only the
         last step's term is the gradient of the last loss term alone.""")
def bptt_bias_last(x, y, h0, b, c, U, V, W):
    return _bptt(x, y, h0, b, c, U, V, W, sum_b=False, sum_c=False)
