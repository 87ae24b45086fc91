#!/usr/bin/python3
"""Regenerates the ONNX fixtures of vlstm-onnx's tests (not part of the build).

Run with Debian's python3-torch (1.13) and python3-onnx:  /usr/bin/python3 make_onnx_fixtures.py

Writes into ../resources/dev/vlstm/onnx/:
  <name>.onnx          the model
  <name>.in.<k>.npy    its float inputs, in graph-input order (integer inputs are written by the tests)
  <name>.out.<k>.npy   the expected outputs, in graph-output order: PyTorch's for exported models,
                       a float64 numpy LSTM written from the ONNX operator's definition for the
                       hand-built nodes (layout 1, reverse, sequence_lens, Y_h / Y_c)
"""
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "dev", "vlstm", "onnx")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)
rng = np.random.default_rng(1234)


def save(name, inputs, outputs):
    for k, a in enumerate(inputs):
        np.save(os.path.join(OUT, f"{name}.in.{k}.npy"), np.ascontiguousarray(a, dtype=np.float32))
    for k, a in enumerate(outputs):
        np.save(os.path.join(OUT, f"{name}.out.{k}.npy"), np.ascontiguousarray(a, dtype=np.float32))


def export(name, model, args, input_names, output_names, dynamic_axes=None):
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=14, do_constant_folding=True)
    with torch.no_grad():
        out = model(*args)
    if not isinstance(out, tuple):
        out = (out,)
    save(name, [a.numpy() for a in args], [o.numpy() for o in out])
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(name, ops)


# 1. the seed classifier: nn.LSTM(28 -> 64), batch-first, last step, nn.Linear(64 -> 10)
class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 64, batch_first=True)
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1, :])


export("classifier", Classifier(), (torch.rand(3, 28, 28),), ["x"], ["logits"],
       {"x": {0: "batch"}, "logits": {0: "batch"}})


# 2. stacked, time-major, with h0 and c0 in and h_n, c_n out
class Stacked(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(5, 7, num_layers=2)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return y, h, c


export("stacked", Stacked(), (torch.randn(6, 4, 5), torch.randn(2, 4, 7), torch.randn(2, 4, 7)),
       ["x", "h0", "c0"], ["y", "hn", "cn"])


# 3. bidirectional, batch-first, two layers (the exporter adds Slice per layer state)
class Bidirectional(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return y, h, c


export("bidirectional", Bidirectional(), (torch.randn(3, 5, 5), torch.randn(4, 3, 6), torch.randn(4, 3, 6)),
       ["x", "h0", "c0"], ["y", "hn", "cn"])


# 4. hand-built LSTM nodes, with a float64 reference from the operator's definition
def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def reference(x, w, r, b, lens, h0, c0, direction, layout):
    """ONNX LSTM (gates i, o, f, c; default activations), float64. Returns Y, Y_h, Y_c."""
    if layout == 1:
        x = x.transpose(1, 0, 2)
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
        c0 = None if c0 is None else c0.transpose(1, 0, 2)
    t_len, batch, _ = x.shape
    dirs, four_h, _ = w.shape
    h = four_h // 4
    lens = np.full(batch, t_len) if lens is None else lens
    y = np.zeros((t_len, dirs, batch, h))
    yh = np.zeros((dirs, batch, h))
    yc = np.zeros((dirs, batch, h))
    for d in range(dirs):
        backward = direction == "reverse" or (direction == "bidirectional" and d == 1)
        wb = np.zeros(4 * h) if b is None else b[d, :4 * h] + b[d, 4 * h:]
        for s in range(batch):
            hs = np.zeros(h) if h0 is None else h0[d, s].astype(np.float64)
            cs = np.zeros(h) if c0 is None else c0[d, s].astype(np.float64)
            steps = range(lens[s] - 1, -1, -1) if backward else range(lens[s])
            for t in steps:
                z = w[d] @ x[t, s] + r[d] @ hs + wb
                i, o, f, c = sigmoid(z[:h]), sigmoid(z[h:2 * h]), sigmoid(z[2 * h:3 * h]), np.tanh(z[3 * h:])
                cs = f * cs + i * c
                hs = o * np.tanh(cs)
                y[t, d, s] = hs
            yh[d, s] = hs
            yc[d, s] = cs
    if layout == 1:
        return y.transpose(2, 0, 1, 3), yh.transpose(1, 0, 2), yc.transpose(1, 0, 2)
    return y, yh, yc


def node_model(name, direction, layout, t_len, batch, inp, hidden, with_lens, with_state):
    dirs = 2 if direction == "bidirectional" else 1
    w = rng.uniform(-0.5, 0.5, (dirs, 4 * hidden, inp)).astype(np.float32)
    r = rng.uniform(-0.5, 0.5, (dirs, 4 * hidden, hidden)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (dirs, 8 * hidden)).astype(np.float32)
    xs = (batch, t_len, inp) if layout == 1 else (t_len, batch, inp)
    ss = (batch, dirs, hidden) if layout == 1 else (dirs, batch, hidden)
    x = rng.standard_normal(xs).astype(np.float32)
    h0 = rng.standard_normal(ss).astype(np.float32) if with_state else None
    c0 = rng.standard_normal(ss).astype(np.float32) if with_state else None
    lens = np.array([t_len - (k % t_len) for k in range(batch)], dtype=np.int32) if with_lens else None
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(xs))]
    node_inputs = ["x", "W", "R", "B", "lens" if with_lens else "", "h0" if with_state else "", "c0" if with_state else ""]
    if with_lens:
        ins.append(helper.make_tensor_value_info("lens", TensorProto.INT32, [batch]))
    if with_state:
        ins.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, list(ss)))
        ins.append(helper.make_tensor_value_info("c0", TensorProto.FLOAT, list(ss)))
    ys = (batch, t_len, dirs, hidden) if layout == 1 else (t_len, dirs, batch, hidden)
    outs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, list(ys)),
            helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, list(ss)),
            helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, list(ss))]
    node = helper.make_node("LSTM", node_inputs, ["Y", "Y_h", "Y_c"], name="lstm", hidden_size=hidden,
                            direction=direction, layout=layout)
    graph = helper.make_graph([node], name, ins, outs,
                              [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"),
                               numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    y, yh, yc = reference(x.astype(np.float64), w.astype(np.float64), r.astype(np.float64), b.astype(np.float64), lens,
                          h0, c0, direction, layout)
    float_inputs = [x] + ([h0, c0] if with_state else [])
    save(name, float_inputs, [y, yh, yc])
    if with_lens:
        np.save(os.path.join(OUT, name + ".lens.npy"), lens.astype(np.float32))   # read as float, cast by the test
    print(name, direction, "layout", layout, "lens" if with_lens else "", "state" if with_state else "")


node_model("node_forward_lens", "forward", 0, 5, 4, 3, 6, True, True)
node_model("node_reverse", "reverse", 0, 5, 3, 4, 5, True, True)
node_model("node_bidirectional_lens", "bidirectional", 0, 6, 3, 4, 5, True, True)
node_model("node_layout1", "forward", 1, 5, 3, 4, 6, False, True)
node_model("node_layout1_bidirectional", "bidirectional", 1, 4, 2, 3, 5, True, True)
