"""Known mistakes in sutskever (each reuses the reference's pieces, changed where the mistake is)."""

import itertools

import numpy as np

from grader.authoring import mistake


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _rbm_grad(v, W, b_v, c, model=True):
    U = np.array(list(itertools.product((0.0, 1.0), repeat=W.shape[1])))
    scores = U @ b_v + np.logaddexp(0, U @ W.T + c).sum(axis=1)
    p = np.exp(scores - scores.max())
    p = p / p.sum() if model else 0 * p
    h_data, h_model = _sigmoid(W @ v + c), _sigmoid(U @ W.T + c)
    return {"W": np.outer(h_data, v) - (p[:, None] * h_model).T @ U, "b_v": v - p @ U, "c": h_data - p @ h_model}


def _means(V, W, W_rec, b_h, r0, recurrent=True):
    R, r = np.zeros((len(V), len(b_h))), r0
    for t in range(len(V)):
        r = _sigmoid(W @ V[t] + b_h + (W_rec @ r if recurrent else 0))
        R[t] = r
    return R


def _backward(V, R, W, W_rec, b_v, b_h, r0, through_time=True):
    T = len(V)
    prev = np.vstack([r0, R[:-1]])
    dr, g = np.zeros_like(R), np.zeros_like(R)
    for t in reversed(range(T)):
        if t < T - 1:
            dr[t] = W_rec.T @ g[t + 1]
        g[t] = _rbm_grad(V[t], W, b_v, b_h + W_rec @ prev[t])["c"] + (dr[t] * R[t] * (1 - R[t]) if through_time else 0)
    return dr, g, prev


def _gradient(V, W, W_rec, b_v, b_h, r0, through_time=True, r0_too=True):
    R = _means(V, W, W_rec, b_h, r0)
    dr, g, prev = _backward(V, R, W, W_rec, b_v, b_h, r0, through_time)
    dW, db_v = np.zeros_like(W), np.zeros_like(b_v)
    for t in range(len(V)):
        rbm = _rbm_grad(V[t], W, b_v, b_h + W_rec @ prev[t])
        dW += rbm["W"] + (np.outer(dr[t] * R[t] * (1 - R[t]), V[t]) if through_time else 0)
        db_v += rbm["b_v"]
    return {"W": dW, "W_rec": g.T @ prev, "b_v": db_v, "b_h": g.sum(axis=0),
            "r0": W_rec.T @ g[0] if r0_too else np.zeros_like(r0)}


@mistake("sutskever-hidden-means-no-recurrence", "hidden_means", "r_t = sigmoid(W @ v_t + b_h): no W_rec @ r_{t-1}",
         """The RNN is what makes the model temporal: each step's hidden bias is c_t = b_h + W_rec @ r_{t-1}, so
         r_t depends on every earlier frame through r_{t-1}.""")
def means_no_recurrence(V, W, W_rec, b_h, r0):
    return _means(V, W, W_rec, b_h, r0, recurrent=False)


@mistake("sutskever-positive-phase-only", "rbm_log_prob_grad", "the model's expectation (from log Z) left out",
         """log P(v) = -F(v) - log Z: the gradient of log Z is the expectation, under the RBM, of what the data term
         gives for one frame. Without it only the data's term remains and the gradient never vanishes; subtract the
         expectation over every binary frame u, weighted by P(u).""")
def positive_phase_only(v, W, b_v, c):
    return _rbm_grad(v, W, b_v, c, model=False)


@mistake("sutskever-dl-dr-one-step", "dL_dr", "only the next step's term, not the later steps'",
         """r_t sets c_{t+1}, and through r_{t+1} every later step: dL/dr_t = W_rec.T @ g_{t+1} with
         g_{t+1} = dlogP(v_{t+1})/dc_{t+1} + dL/dr_{t+1} * r_{t+1} * (1 - r_{t+1}). Leaving out the second term stops
         the backward pass after one step: that is BPTT truncated to nothing.""")
def dl_dr_one_step(V, R, W, W_rec, b_v, b_h, r0):
    return _backward(V, R, W, W_rec, b_v, b_h, r0, through_time=False)[0]


@mistake("sutskever-gradient-without-bptt", "rtrbm_gradient", "each RBM's gradient alone, no backward pass through r",
         """Each step's RBM term is only part of eq. 3.25: W, W_rec, b_h and r0 also act through the hidden means r_t,
         which set every later bias. Add the terms of the backward pass, dL/dr_t * r_t * (1 - r_t), as eq. 3.24
         gives them.""")
def gradient_without_bptt(V, W, W_rec, b_v, b_h, r0):
    return _gradient(V, W, W_rec, b_v, b_h, r0, through_time=False)


@mistake("sutskever-r0-ignored", "rtrbm_gradient", "the gradient for r0 returned as zeros",
         """r0 sets the first step's hidden bias, c_1 = b_h + W_rec @ r0, so L depends on it: its gradient is
         W_rec.T @ g_1, what the backward pass carries out of the first step.""")
def r0_ignored(V, W, W_rec, b_v, b_h, r0):
    return _gradient(V, W, W_rec, b_v, b_h, r0, r0_too=False)
