#!/usr/bin/env python3
"""Generates the PyTorch fixtures of PyTorchFixtureTest (engine/src/test/resources/dev/vlstm/pytorch).

Each fixture is one safetensors file: the nn.LSTM state_dict under the prefix "lstm.", and the
inputs and PyTorch's outputs under "case.*" (float32; lengths stored as float32). Written by hand
(8-byte little-endian header length, JSON header, raw data) so that only torch and numpy are
needed: on Debian, `apt-get install python3-torch`. Run from the repository root:

    /usr/bin/python3 engine/src/test/python/make_pytorch_fixtures.py
"""
import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "dev", "vlstm", "pytorch")


def save(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def case(name, seed, input_size, hidden, layers, bidirectional, batch_first, steps, batch, lengths=None, initial=False,
         proj=0):
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(input_size, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                         proj_size=proj)
    lstm.eval()
    d = 2 if bidirectional else 1
    shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = torch.randn(*shape)
    state = proj if proj > 0 else hidden   # h0 and h_n have P features with a projection, c0 and c_n H
    h0 = torch.randn(layers * d, batch, state) * 0.5 if initial else torch.zeros(layers * d, batch, state)
    c0 = torch.randn(layers * d, batch, hidden) * 0.5 if initial else torch.zeros(layers * d, batch, hidden)
    with torch.no_grad():
        if lengths is None:
            y, (hn, cn) = lstm(x, (h0, c0))
        else:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                                             enforce_sorted=False)
            yp, (hn, cn) = lstm(packed, (h0, c0))
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(yp, batch_first=batch_first, total_length=steps)
    tensors = {"lstm." + k: v for k, v in lstm.state_dict().items()}
    tensors["case.x"] = x
    tensors["case.h0"] = h0
    tensors["case.c0"] = c0
    tensors["case.output"] = y
    tensors["case.h_n"] = hn
    tensors["case.c_n"] = cn
    if lengths is not None:
        tensors["case.lengths"] = torch.tensor(lengths, dtype=torch.float32)
    meta = {"torch": torch.__version__, "input_size": str(input_size), "hidden_size": str(hidden),
            "num_layers": str(layers), "bidirectional": str(bidirectional).lower(),
            "batch_first": str(batch_first).lower(), "steps": str(steps), "batch": str(batch)}
    if proj > 0:
        meta["proj_size"] = str(proj)
    save(os.path.join(OUT, name + ".safetensors"), tensors, meta)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    case("single_layer", 1, 5, 7, 1, False, False, 6, 3, initial=True)
    case("stacked", 2, 4, 6, 3, False, False, 5, 4)
    case("bidirectional_batch_first_lengths", 3, 3, 5, 2, True, True, 7, 4, lengths=[7, 3, 5, 1])
    case("bidirectional_lengths_initial", 4, 6, 4, 1, True, False, 5, 3, lengths=[2, 5, 4], initial=True)
    # LSTMP (proj_size): a single layer with h0/c0, and stacked bidirectional batch-first with packed lengths
    case("projected_initial", 5, 5, 8, 1, False, False, 6, 3, initial=True, proj=3)
    case("projected_stacked_bidirectional_lengths", 6, 4, 7, 2, True, True, 6, 5, lengths=[6, 2, 4, 1, 5], initial=True,
         proj=4)
