"""Your exercise for Lab 3: make ``distances`` fast (``make grade-3`` judges it).

The search service calls it for every batch: ``queries`` is an array of shape (q, d), ``items`` one
of shape (c, d), and the answer is the (q, c) array of Euclidean distances from each query to each
item. This version reads well, and py-spy --native shows where its time goes.
"""

import numpy as np


def distances(queries, items):
    return np.sqrt(((queries[:, None, :] - items[None, :, :]) ** 2).sum(axis=-1))
