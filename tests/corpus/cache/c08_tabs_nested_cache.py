import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
	next_h = np.dot(x, Wx) + np.dot(prev_h, Wh)
	next_h = next_h + b
	next_h = np.tanh(next_h)
	cache = (x, prev_h, Wx, Wh, b, next_h)
	return (next_h, cache)


def rnn_step_backward(dnext_h, cache):
	x, prev_h, Wx, Wh, b, next_h = cache
	# next_h = tanh(temp)
	dtemp = (1 - np.square(next_h)) * dnext_h
	db = np.sum(dtemp, axis=0)
	dx = np.dot(dtemp, np.transpose(Wx))
	dprev_h = np.dot(dtemp, np.transpose(Wh))
	dWx = np.dot(np.transpose(x), dtemp)
	dWh = np.dot(np.transpose(prev_h), dtemp)
	return (dx, dprev_h, dWx, dWh, db)


def rnn_forward(x, h0, Wx, Wh, b):
	N, T, D = x.shape
	N, H = h0.shape
	h = np.zeros((N, T, H))
	caches = [None] * T
	h[:, 0, :], temp = rnn_step_forward(x[:, 0, :], h0, Wx, Wh, b)
	caches[0] = temp
	for i in range(1, T):
		h[:, i, :], caches[i] = rnn_step_forward(x[:, i, :], h[:, i - 1, :], Wx, Wh, b)
	cache = (x, h0, Wx, Wh, b, caches)
	return (h, cache)


def rnn_backward(dh, cache):
	x, h0, Wx, Wh, b, caches = cache
	dx = np.zeros_like(x)
	dh0 = np.zeros_like(h0)
	dWx = np.zeros_like(Wx)
	dWh = np.zeros_like(Wh)
	db = np.zeros_like(b)
	N, T, D = x.shape
	for i in reversed(range(T)):
		a, b, c, d, e = rnn_step_backward(dh[:, i, :] + dh0, caches[i])
		dx[:, i, :] = a
		dh0 = b
		dWx += c
		dWh += d
		db += e
	return (dx, dh0, dWx, dWh, db)
