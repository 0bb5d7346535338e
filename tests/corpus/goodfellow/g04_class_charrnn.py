import numpy as np


class CharRNN:
    """The min-char-rnn model as a class; the weights live on the instance."""

    def __init__(self, Wxh, Whh, Why, bh, by):
        self.Wxh = Wxh   # input to hidden (U)
        self.Whh = Whh   # hidden to hidden (W)
        self.Why = Why   # hidden to output (V)
        self.bh = bh     # hidden bias (b)
        self.by = by     # output bias (c)

    def lossFun(self, inputs, targets, hprev):
        num_inputs = len(inputs)
        hs, ps = {}, {}
        hs[-1] = np.copy(hprev)
        loss = 0.0
        for t in range(num_inputs):
            hs[t] = np.tanh(np.dot(self.Wxh, inputs[t]) + np.dot(self.Whh, hs[t - 1]) + self.bh)
            ys = np.dot(self.Why, hs[t]) + self.by
            exp_ys = np.exp(ys - np.max(ys))
            ps[t] = exp_ys / np.sum(exp_ys)
            loss += -np.log(ps[t][targets[t]])
        dWxh = np.zeros_like(self.Wxh)
        dWhh = np.zeros_like(self.Whh)
        dWhy = np.zeros_like(self.Why)
        dbh = np.zeros_like(self.bh)
        dby = np.zeros_like(self.by)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(num_inputs)):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += np.outer(dy, hs[t])
            dby += dy
            dh = np.dot(self.Why.T, dy) + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += np.outer(dhraw, inputs[t])
            dWhh += np.outer(dhraw, hs[t - 1])
            dhnext = np.dot(self.Whh.T, dhraw)
        return loss, dWxh, dWhh, dWhy, dbh, dby, hs[num_inputs - 1]


def softmax_jacobian(y_hat):
    s = y_hat.reshape(-1, 1)
    return np.diagflat(s) - np.dot(s, s.T)


def grad_o(y_hat, y):
    d = np.array(y_hat, dtype=float)
    d[np.arange(len(y)), y] -= 1
    return d


def grad_h(grad_o, h, V, W):
    out = np.zeros_like(h)
    carry = np.zeros(h.shape[1])
    for t in range(len(h) - 1, -1, -1):
        out[t] = V.T.dot(grad_o[t]) + carry
        carry = W.T.dot(out[t] * (1 - h[t] ** 2))
    return out


def bptt(x, y, h0, b, c, U, V, W):
    model = CharRNN(U, W, V, b, c)
    _, dU, dW, dV, db, dc, _ = model.lossFun(x, y, h0)
    return {"b": db, "c": dc, "U": dU, "V": dV, "W": dW}
