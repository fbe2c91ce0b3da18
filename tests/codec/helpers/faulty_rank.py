"""codec.training.train under torchrun with a fault injected on rank 1 at its second loss: a non-finite
loss (argument "nan") or a SIGTERM to that rank alone ("stop"). Used by tests/codec/test_train.py."""
import math
import os
import signal
import sys

import codec.training.train as train

FAULT = sys.argv.pop(1)
real_loss_function = train.loss_function


def faulty_loss_function(cfg):
    loss_fn, calls = real_loss_function(cfg), []

    def loss(model, x, draw):
        value, metrics, rows = loss_fn(model, x, draw)
        calls.append(1)
        if os.environ.get("RANK") == "1" and len(calls) == 2:
            if FAULT == "nan":
                return value * math.nan, {**metrics, "loss": math.nan}, rows
            os.kill(os.getpid(), signal.SIGTERM)
        return value, metrics, rows

    return loss


train.loss_function = faulty_loss_function
train.main()
