# coding: utf-8
from __future__ import print_function

import operator

import numpy as np

try:
    xrange
except NameError:
    xrange = range


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


class RNNNumpy:

    def __init__(self, word_dim, hidden_dim=100, bptt_truncate=4):
        # Assign instance variables
        self.word_dim = word_dim
        self.hidden_dim = hidden_dim
        self.bptt_truncate = bptt_truncate
        # Randomly initialize the network parameters
        self.U = np.random.uniform(-np.sqrt(1. / word_dim), np.sqrt(1. / word_dim), (hidden_dim, word_dim))
        self.V = np.random.uniform(-np.sqrt(1. / hidden_dim), np.sqrt(1. / hidden_dim), (word_dim, hidden_dim))
        self.W = np.random.uniform(-np.sqrt(1. / hidden_dim), np.sqrt(1. / hidden_dim), (hidden_dim, hidden_dim))

    def forward_propagation(self, x):
        T = len(x)
        s = np.zeros((T + 1, self.hidden_dim))
        s[-1] = np.zeros(self.hidden_dim)
        o = np.zeros((T, self.word_dim))
        for t in xrange(T):
            s[t] = np.tanh(self.U[:, x[t]] + self.W.dot(s[t - 1]))
            o[t] = softmax(self.V.dot(s[t]))
        return [o, s]

    def bptt(self, x, y):
        T = len(y)
        o, s = self.forward_propagation(x)
        dLdU = np.zeros(self.U.shape)
        dLdV = np.zeros(self.V.shape)
        dLdW = np.zeros(self.W.shape)
        delta_o = o
        delta_o[np.arange(len(y)), y] -= 1.
        for t in np.arange(T)[::-1]:
            dLdV += np.outer(delta_o[t], s[t].T)
            delta_t = self.V.T.dot(delta_o[t]) * (1 - (s[t] ** 2))
            for bptt_step in np.arange(max(0, t - self.bptt_truncate), t + 1)[::-1]:
                # print("Backpropagation step t=%d bptt step=%d " % (t, bptt_step))
                dLdW += np.outer(delta_t, s[bptt_step - 1])
                dLdU[:, x[bptt_step]] += delta_t
                delta_t = self.W.T.dot(delta_t) * (1 - s[bptt_step - 1] ** 2)
        return [dLdU, dLdV, dLdW]


# ---- the graded functions, wrapping the tutorial's class ----

def delta_o(o, y):
    out = np.array(o, copy=True)
    out[np.arange(len(y)), y] -= 1.
    return out


def delta_t(V, delta_o_t, s_t):
    return V.T.dot(delta_o_t) * (1 - s_t ** 2)


def delta_t_prev(W, delta_t, s_prev):
    return W.T.dot(delta_t) * (1 - s_prev ** 2)


def bptt(x, y, U, V, W, bptt_truncate=4):
    hidden_dim, word_dim = U.shape
    model = RNNNumpy(word_dim, hidden_dim, bptt_truncate)
    # use the given weights (the class only reads them)
    model.U, model.V, model.W = U, V, W
    return model.bptt(x, y)
