"""Loads a model file written by `examples.jar train --save` into nn.LSTM + nn.Linear, the way the
README shows, runs it on X.npy and compares the logits with Y.npy written by `examples.jar predict`.

Usage: python3 load_in_pytorch.py MODEL.safetensors X.npy Y.npy strict|lenient
Prints the largest absolute difference and exits 1 if it is above 1e-5. Reads safetensors by hand
(json header + raw little-endian float32), so it needs only torch and numpy.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def load_file(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        start, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + start:8 + n + end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(data.copy())
    return tensors


class Net(nn.Module):
    def __init__(self, inputs, hidden, classes):
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden)   # time-major, like vlstm
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):                     # x: [T, B, I]
        out, _ = self.lstm(x)
        return self.fc(out[-1])


def main():
    model, x_file, y_file, mode = sys.argv[1:5]
    state = load_file(model)
    hidden = state["lstm.weight_hh_l0"].shape[1]
    inputs = state["lstm.weight_ih_l0"].shape[1]
    classes = state["fc.weight"].shape[0]
    net = Net(inputs, hidden, classes)
    result = net.load_state_dict(state, strict=(mode == "strict"))
    x = torch.from_numpy(np.load(x_file)).permute(1, 0, 2)   # [N, T, I] -> [T, N, I]
    with torch.no_grad():
        logits = net(x).numpy()
    expected = np.load(y_file)
    diff = float(np.abs(logits - expected).max())
    print("ignored keys %s, max |difference| %.3g" % (sorted(result.unexpected_keys), diff))
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == "__main__":
    main()
