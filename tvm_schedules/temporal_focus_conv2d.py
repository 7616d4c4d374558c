"""Temporal Focus Convolution (SqueezeTime) in TE, semantics of
fastvfx.ops.temporal_focus_conv2d: one prim func that returns (y, scale)::

    scale = sigmoid(fc2(relu(fc1(pool(x)))))        # (N, C_in), pool avg | max
    y     = conv2d(x * scale[:, :, None, None], weight, bias, stride, padding)

``x * scale`` is never written: the scale is folded into a per-sample
weight ``W[o, i] * scale[n, i]`` (C_out * C_in * kH * kW values per sample,
small next to x), and the conv reads x directly.
"""

from __future__ import annotations

from .kernel import Arg, Kernel, vector_width
from .targets import ScheduleConfig

POOLS = ("avg", "max")


def _schedule_tfc(sch, cout: int, oh: int, ow: int, pointwise: bool, has_bias: bool, producers: tuple,
                  config: ScheduleConfig) -> None:
    # The gate (pool, two tiny GEMVs, sigmoid) is a few microseconds next to
    # the conv: only the pool, one pass over x, runs in parallel over planes.
    pool = sch.get_sblock("pool")
    n, i, y, z = sch.get_loops(pool)
    sch.parallel(sch.fuse(n, i))
    # The conv is a GEMM per sample: (C_out x C_in) scaled weights times
    # (C_in x pixels) of x. Register tile: gemm_rows output channels x
    # gemm_vectors vectors of pixels, accumulated over C_in (and the taps)
    # with the pixel axis innermost, so each step is broadcast-weight times
    # contiguous-x FMAs. Tasks over (sample, channel block, pixel block).
    conv = sch.get_sblock("conv")
    loops = sch.get_loops(conv)
    n, o, y, z = loops[:4]
    reduction = loops[4:]
    rows = config.gemm_rows
    while cout % rows:
        rows -= 1
    if pointwise:
        pixels = sch.fuse(y, z)
        extent = oh * ow
    else:
        pixels, extent = z, ow  # kxk: vectors along an output row
    lanes = config.lanes
    tile = vector_width(extent, lanes)
    if tile % lanes == 0 and extent % (lanes * config.gemm_vectors) == 0:
        tile = lanes * config.gemm_vectors
    o_o, o_i = sch.split(o, [None, rows])
    if tile < extent:
        p_o, p_i = sch.split(pixels, [None, tile])
    else:
        p_o, p_i = None, pixels
    if pointwise:
        outer = [n, o_o] + ([p_o] if p_o is not None else [])
    else:
        outer = [n, o_o, y] + ([p_o] if p_o is not None else [])
    sch.reorder(*outer, *reduction, o_i, p_i)
    fused = sch.fuse(*outer[:2])
    sch.parallel(fused)
    sch.unroll(o_i)
    sch.vectorize(p_i)
    anchor = outer[-1] if len(outer) > 2 else fused
    sch.decompose_reduction(conv, reduction[0])
    # Bias is added on the register tile before it is stored.
    if has_bias:
        epilogue = sch.get_sblock("epilogue")
        sch.reverse_compute_at(epilogue, anchor, preserve_unit_loops=True)
        sch.vectorize(sch.get_loops(epilogue)[-1])
    # The scaled / padded input, where there is one, is written once before
    # the GEMM (a pass over x), one task per channel plane.
    for name in ("scaled_input", "pad"):
        if name in producers:
            block = sch.get_sblock(name)
            loops = sch.get_loops(block)
            sch.parallel(sch.fuse(*loops[:2]))
            sch.vectorize(loops[-1])


def temporal_focus_conv2d(n: int, cin: int, h: int, w: int, cout: int, hidden: int, kernel: int = 1,
                          stride: int = 1, padding: int = 0, pool: str = "avg", bias: bool = False,
                          fc1_bias: bool = True, fc2_bias: bool = False,
                          name: str = "temporal_focus_conv2d") -> Kernel:
    if pool not in POOLS:
        raise ValueError(f"temporal_focus_conv2d: pool must be one of {POOLS}, got {pool!r}")
    oh = (h + 2 * padding - kernel) // stride + 1
    ow = (w + 2 * padding - kernel) // stride + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"temporal_focus_conv2d: empty output for {h}x{w}, kernel {kernel}, stride {stride}")
    pointwise = kernel == 1 and stride == 1 and padding == 0
    # Fold the scale into whichever operand is smaller: the weights at the
    # early, large-image stages; the input at the late ones (512 channels at
    # 7x7: 49 pixels per channel against 512 weights per channel).
    scale_weights = cout * kernel * kernel <= h * w
    producers = (() if scale_weights else ("scaled_input",)) + (("pad",) if padding else ())

    def make(config=None):
        from tvm import te, tirx

        x = te.placeholder((n, cin, h, w), "float32", name="x")
        weight = te.placeholder((cout, cin, kernel, kernel), "float32", name="weight")
        w1 = te.placeholder((hidden, cin), "float32", name="fc1_weight")
        b1 = te.placeholder((hidden,), "float32", name="fc1_bias") if fc1_bias else None
        w2 = te.placeholder((cin, hidden), "float32", name="fc2_weight")
        b2 = te.placeholder((cin,), "float32", name="fc2_bias") if fc2_bias else None
        b = te.placeholder((cout,), "float32", name="bias") if bias else None

        ry, rz = te.reduce_axis((0, h), "ry"), te.reduce_axis((0, w), "rz")
        if pool == "avg":
            pooled_sum = te.compute((n, cin), lambda i, c: te.sum(x[i, c, ry, rz], axis=[ry, rz]), name="pool")
            pooled = te.compute((n, cin), lambda i, c: pooled_sum[i, c] / tirx.const(h * w, "float32"),
                                name="pool_mean")
        else:
            pooled = te.compute((n, cin), lambda i, c: te.max(x[i, c, ry, rz], axis=[ry, rz]), name="pool")
        rc = te.reduce_axis((0, cin), "rc")
        fc1 = te.compute((n, hidden), lambda i, j: te.sum(w1[j, rc] * pooled[i, rc], axis=rc), name="fc1")
        act = te.compute((n, hidden), lambda i, j: tirx.max(fc1[i, j] + (b1[j] if fc1_bias else 0.0),
                                                              tirx.const(0.0, "float32")), name="fc1_relu")
        rj = te.reduce_axis((0, hidden), "rj")
        fc2 = te.compute((n, cin), lambda i, c: te.sum(w2[c, rj] * act[i, rj], axis=rj), name="fc2")
        scale = te.compute((n, cin), lambda i, c: tirx.sigmoid(fc2[i, c] + (b2[c] if fc2_bias else 0.0)),
                           name="scale")
        if scale_weights:
            lhs = te.compute((n, cout, cin, kernel, kernel),
                             lambda i, o, c, ky, kx: weight[o, c, ky, kx] * scale[i, c], name="scaled_weight")
            src = x
        else:
            lhs = te.compute((n, cout, cin, kernel, kernel), lambda i, o, c, ky, kx: weight[o, c, ky, kx],
                             name="scaled_weight")
            src = te.compute((n, cin, h, w), lambda i, c, y, z: x[i, c, y, z] * scale[i, c], name="scaled_input")
        if padding:
            unpadded = src
            src = te.compute(
                (n, cin, h + 2 * padding, w + 2 * padding),
                lambda i, c, y, z: tirx.if_then_else(
                    tirx.all(y >= padding, y < h + padding, z >= padding, z < w + padding),
                    unpadded[i, c, y - padding, z - padding], tirx.const(0.0, "float32")),
                name="pad")
        scaled_w = lhs
        rc2, ky, kx = te.reduce_axis((0, cin), "ci"), te.reduce_axis((0, kernel), "ky"), te.reduce_axis((0, kernel), "kx")
        conv = te.compute(
            (n, cout, oh, ow),
            lambda i, o, y, z: te.sum(scaled_w[i, o, rc2, ky, kx] * src[i, rc2, y * stride + ky, z * stride + kx],
                                      axis=[rc2, ky, kx]),
            name="conv")
        outputs = [conv]
        if bias:
            outputs = [te.compute((n, cout, oh, ow), lambda i, o, y, z: conv[i, o, y, z] + b[o], name="epilogue")]
        params = [x, weight, w1] + ([b1] if fc1_bias else []) + [w2] + ([b2] if fc2_bias else [])
        params += ([b] if bias else []) + outputs + [scale]
        return te.create_prim_func(params)

    def schedule(sch, config):
        if not scale_weights:
            sch.compute_inline(sch.get_sblock("scaled_weight"))
        _schedule_tfc(sch, cout, oh, ow, pointwise, bias, producers, config)

    args = [Arg("x", (n, cin, h, w)), Arg("weight", (cout, cin, kernel, kernel)), Arg("fc1_weight", (hidden, cin))]
    args += [Arg("fc1_bias", (hidden,))] if fc1_bias else []
    args += [Arg("fc2_weight", (cin, hidden))]
    args += [Arg("fc2_bias", (cin,))] if fc2_bias else []
    args += [Arg("bias", (cout,))] if bias else []
    args += [Arg("y", (n, cout, oh, ow), role="out"), Arg("scale", (n, cin), role="out")]
    return Kernel(
        name, "temporal_focus_conv2d",
        dict(n=n, cin=cin, h=h, w=w, cout=cout, hidden=hidden, kernel=kernel, stride=stride, padding=padding,
             pool=pool, bias=bias, fc1_bias=fc1_bias, fc2_bias=fc2_bias),
        tuple(args), make, schedule,
        doc=f"(y, scale) = temporal_focus_conv2d(x, ..., stride={stride}, padding={padding}, pool={pool!r})",
    )
