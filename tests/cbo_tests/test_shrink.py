"""``shrink``: memsim's figures are the constraint, the projection always ends where memsim says it fits, the
trained weights carry over exactly, and the command ends in a confirmed export."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memsim
from cbo import SpaceError
from cbo.dnas import NetworkCosts, kept_channels, project

CHAIN = {"name": "net", "layers": [
    {"type": "Input", "name": "x", "shape": [16, 8, 1]},
    {"type": "Conv2D", "name": "c1", "filters": 24, "kernel_size": 3, "activation": "relu"},
    {"type": "BatchNormalization", "name": "bn1"},
    {"type": "MaxPooling2D", "name": "p1", "pool_size": 2},
    {"type": "Conv2D", "name": "c2", "filters": 32, "kernel_size": [3, 1], "padding": "same"},
    {"type": "Activation", "name": "a2", "activation": "tanh"},
    {"type": "Flatten", "name": "f"},
    {"type": "Dense", "name": "d1", "units": 40, "activation": "relu"},
    {"type": "Dropout", "name": "dr", "rate": 0.1},
    {"type": "Dense", "name": "out", "units": 5, "activation": "softmax"},
]}
MODES = [("tflm", "int8", "none"), ("tflm", "float32", "none"), ("xcubeai", "float32", "x8"),
         ("xcubeai", "float32", "none")]


@settings(max_examples=40, deadline=None)
@given(c1=st.integers(1, 24), c2=st.integers(1, 32), d1=st.integers(1, 40), mode=st.sampled_from(MODES),
       board=st.sampled_from(["stm32f303k8", "stm32l476rg", "nucleo-f401re"]))
def test_costs_are_memsims_figures_of_the_network_that_would_be_exported(c1, c2, d1, mode, board):
    runtime, dtype, compression = mode
    costs = NetworkCosts(CHAIN, board, runtime, dtype, compression)
    fig = costs.figures([c1, c2, d1])
    fp = memsim.footprint(costs.spec_at([c1, c2, d1]), board, runtime, dtype, compression)
    b = costs.board
    assert fig["costs"][0].tolist() == [b.ram_bytes - fp.ram_headroom_bytes, b.largest_region_bytes - fp.region_headroom_bytes,
                                        b.flash_bytes - fp.flash_headroom_bytes, fp.latency_high_ms]
    assert bool(fig["fits"][0]) == bool(fp.deployable)


def test_the_derivative_is_memsims_change_per_channel_over_an_eighth_of_the_channels():
    costs = NetworkCosts(CHAIN, "stm32f303k8", "tflm", "int8")
    counts = np.array([16, 1, 30])
    value, grad = costs.at(counts)
    for k, step in ((0, -2), (1, 1), (2, -3)):  # 16 // 8 fewer; one more where one is left; 30 // 8 fewer
        other = counts.copy()
        other[k] += step
        assert np.allclose((costs.figures(other)["costs"][0] - value) / step, grad[:, k])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), board=st.sampled_from(["stm32f303k8", "stm32l476rg"]),
       ram=st.sampled_from([None, 6_000, 9_000]), flash=st.sampled_from([None, 30_000, 45_000]),
       mode=st.sampled_from(MODES))
def test_the_projection_always_ends_where_memsim_says_it_fits(seed, board, ram, flash, mode):
    runtime, dtype, compression = mode
    costs = NetworkCosts(CHAIN, board, runtime, dtype, compression, ram=ram, flash=flash)
    rng = np.random.default_rng(seed)
    thetas = [rng.normal(0.5, 1.0, n) for n in costs.full]
    try:
        masks, removed = project(costs, thetas)
    except SpaceError:  # then not even one channel per layer fits
        assert not costs.figures(costs.smallest())["fits"][0]
        return
    counts = [int(m.sum()) for m in masks]
    fp = memsim.footprint(costs.spec_at(counts), board, runtime, dtype, compression)
    assert fp.deployable
    assert ram is None or fp.ram_bytes + fp.ram_safety_bytes <= ram
    assert flash is None or fp.flash_bytes + fp.flash_safety_bytes <= flash
    # it only removes channels, weakest first within a layer
    start = kept_channels(thetas, len(costs.blocks), len(costs.kernels))
    for m0, m, theta in zip(start, masks, thetas):
        assert not np.any(m & ~m0)
        if (m0 & ~m).any() and m.any():
            assert theta[m0 & ~m].max() <= theta[m].min() or m.sum() == 1
    assert removed == sum(int(m0.sum() - m.sum()) for m0, m in zip(start, masks))


RESIDUAL = {"name": "resnet", "layers": [
    {"type": "Input", "name": "x", "shape": [12, 12, 3]},
    {"type": "Conv2D", "name": "stem", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"type": "Conv2D", "name": "b1", "filters": 16, "kernel_size": 3, "padding": "same"},
    {"type": "BatchNormalization", "name": "b1_bn"},
    {"type": "ReLU", "name": "b1_act"},
    {"type": "Conv2D", "name": "b2", "filters": 16, "kernel_size": 3, "padding": "same"},
    {"type": "Add", "name": "add", "inputs": ["b2", "stem"]},
    {"type": "BatchNormalization", "name": "add_bn"},
    {"type": "ReLU", "name": "add_act"},
    {"type": "SeparableConv2D", "name": "sep", "filters": 24, "kernel_size": 3, "padding": "same"},
    {"type": "GlobalAveragePooling2D", "name": "gap"},
    {"type": "Dense", "name": "out", "units": 4, "activation": "softmax"}]}


def test_residual_adds_tie_their_inputs_into_one_searched_group():
    costs = NetworkCosts(RESIDUAL, "stm32l476rg", "tflm", "float32")
    assert [costs.producers[g] for g in costs.searchable] == [["stem", "b2"], ["b1"], ["sep"]]
    assert costs.full.tolist() == [16, 16, 24, 1, 1, 1]  # and a ring of each 3x3 'same' kernel
    assert [name for name, _ in costs.kernels] == ["stem", "b1", "b2"]
    fig = costs.figures([5, 7, 9])
    fp = memsim.footprint(costs.spec_at([5, 7, 9]), "stm32l476rg", "tflm", "float32")
    assert fig["costs"][0][2] == costs.board.flash_bytes - fp.flash_headroom_bytes and fig["fits"][0] == fp.deployable


def test_layers_shrink_cannot_slice_are_refused_in_one_sentence():
    spec = {"name": "cat", "layers": [
        {"type": "Input", "name": "x", "shape": [8, 8, 2]},
        {"type": "Conv2D", "name": "a", "filters": 2, "kernel_size": 3, "padding": "same"},
        {"type": "Concatenate", "name": "cat", "inputs": ["a", "x"]},
        {"type": "Flatten", "name": "f"}, {"type": "Dense", "name": "d", "units": 3}]}
    with pytest.raises(SpaceError, match="shrink cannot search through layer 'cat'"):
        NetworkCosts(spec, "stm32f303k8")
    tied_to_input = {**spec, "layers": spec["layers"][:2] + [{"type": "Add", "name": "add", "inputs": ["a", "x"]}]
                     + spec["layers"][3:]}
    with pytest.raises(SpaceError, match="no channels to shrink"):  # a residual onto the input fixes its width
        NetworkCosts(tied_to_input, "stm32f303k8")


DW_CHAIN = {"name": "dw", "layers": [
    {"type": "Input", "name": "x", "shape": [12, 6, 2]},
    {"type": "Conv2D", "name": "c0", "filters": 12, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"type": "DepthwiseConv2D", "name": "dw0", "kernel_size": 3, "padding": "same"},
    {"type": "BatchNormalization", "name": "bn0"},
    {"type": "ReLU", "name": "r0"},
    {"type": "Conv2D", "name": "pw0", "filters": 16, "kernel_size": 1, "activation": "relu"},
    {"type": "GlobalAveragePooling2D", "name": "gap"},
    {"type": "Dense", "name": "out", "units": 4, "activation": "softmax"}]}


@pytest.mark.toolchain
@pytest.mark.parametrize(("spec", "x_shape"), [(DW_CHAIN, (32, 12, 6, 2)), (RESIDUAL, (16, 12, 12, 3))],
                         ids=["depthwise-gap", "residual-separable"])
def test_gated_and_extracted_agree_through_depthwise_residuals_and_global_pooling(spec, x_shape):
    _gated_equals_extracted(spec, x_shape)


DS_BLOCKS = {"name": "ds", "layers": [
    {"type": "Input", "name": "x", "shape": [12, 6, 2]},
    {"type": "Conv2D", "name": "c0", "filters": 12, "kernel_size": 3, "padding": "same"},
    {"type": "BatchNormalization", "name": "bn"},
    {"type": "ReLU", "name": "r"},
    *[layer for b in range(3) for layer in (
        {"type": "DepthwiseConv2D", "name": f"dw{b}", "kernel_size": 3, "padding": "same"},
        {"type": "BatchNormalization", "name": f"dw{b}_bn"},
        {"type": "ReLU", "name": f"dw{b}_r"},
        {"type": "Conv2D", "name": f"pw{b}", "filters": 12, "kernel_size": 1, "activation": "relu"})],
    {"type": "Conv2D", "name": "wide", "filters": 20, "kernel_size": 1},
    {"type": "GlobalAveragePooling2D", "name": "gap"},
    {"type": "Dense", "name": "out", "units": 4, "activation": "softmax"}]}


def test_a_groups_span_is_the_dimension_its_inputs_can_carry():
    costs = NetworkCosts(CHAIN, "stm32l476rg", "tflm", "int8")
    # c1: 3x3 taps of one channel (+ bias) span 10 of its 24 filters; c2: 3x1 taps of c1's channels; d1: a wide
    # Flatten carries all 40 units; c2's kernel entry (one ring around its centre) is its own
    assert costs.span(costs.full).tolist() == [10, 32, 40, 1]
    assert costs.span([24, 8, 40]).tolist() == [10, 8, 40, 1]
    assert costs.span([6, 32, 40]).tolist() == [6, 19, 40, 1]  # 3 x 6 + 1: c1 kept 6 channels
    assert costs.span([6, 32, 40, 0]).tolist() == [6, 7, 40, 0]  # c2 narrowed to 1x1: 6 + 1


def _paper_har(shape, n_classes):
    from cbo.dnas import largest_config
    from cbo.tinyml import get_template

    template = get_template("paper-har")
    return NetworkCosts(template.spec(largest_config(template), template.input_shape(shape), n_classes),
                        "stm32f303k8", "tflm", "int8")


def test_a_convolution_keeps_the_filters_its_dense_reader_needs_at_the_common_pace():
    """digits (8x8): 2x2 filters reach the dense layer through 3x3 positions, so 256 units need 29 filters to span
    them; below that, the filters move with the units, not n / 5 times as fast."""
    digits = _paper_har((8, 8), 10)
    assert digits.readers == [[1], []]
    assert digits.paced(digits.full).tolist() == [29, 256]  # ceil(255 * 256 / (9 * 256))
    assert digits.paced([13, 237]).tolist() == [13, 118]  # all 13 paced; 237 units over a 118-dimensional input
    assert digits.span(digits.full).tolist() == [5, 256]


@settings(max_examples=40, deadline=None)
@given(filters=st.integers(1, 256), units=st.integers(1, 256))
def test_where_the_dense_reader_has_inputs_to_spare_the_pace_is_the_span(filters, units):
    """har-watch and BasicMotions windows (100 x 6): 98 inputs per filter reach the dense layer, so no count of
    filters starves it, and shrink's push there is the span rule alone (the RESULTS.md v7 runs hold)."""
    costs = _paper_har((100, 6), 10)
    assert costs.paced([filters, units]).tolist() == costs.span([filters, units]).tolist()


def test_channels_beyond_their_groups_span_get_the_stronger_push():
    from cbo.dnas._search import _redundancy

    thetas = [np.array([0.5, 2.0, -1.0, 1.0]), np.array([1.0, 0.2]), np.array([0.3])]
    # first group: 3 open channels spanning 2 dimensions: the 2 strongest by theta move as the others, the rest
    # (closed ones too) 3 / 2 as fast; the other groups are not redundant
    assert _redundancy(thetas, [3, 2, 1], [2, 2, 1], paced=[2, 2, 1]).tolist() == [1.5, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0]
    # the first group's 3 strongest move at the common pace (its reader needs them): no channel pushed harder
    assert _redundancy(thetas, [3, 2, 1], [2, 2, 1], paced=[3, 2, 1]).tolist() == [1.0] * 7
    assert _redundancy(thetas, [3, 2, 1], [1, 2, 1], paced=[2, 2, 1]).tolist() == [3.0, 1.0, 3.0, 1.0, 1, 1, 1]


@pytest.mark.toolchain
def test_a_convolution_with_few_inputs_gives_its_filters_before_the_dense_layer_its_units():
    """A 2x1 convolution of one input channel spans 3 dimensions whatever its filters; with Flash for a quarter of
    filters x units, shrink cuts the filters, not the units (the same fractions of both, before the span was
    weighed: on har-watch's big board 89 x 113 where 40 x 250 trains to 68 %, RESULTS.md)."""
    from cbo.dnas import shrink

    spec = {"name": "narrow", "layers": [
        {"type": "Input", "name": "x", "shape": [24, 1, 1]},
        {"type": "Conv2D", "name": "conv", "filters": 48, "kernel_size": [2, 1], "activation": "relu"},
        {"type": "Flatten", "name": "f"},
        {"type": "Dense", "name": "dense", "units": 48, "activation": "relu"},
        {"type": "Dense", "name": "out", "units": 3, "activation": "softmax"}]}
    flash = int(NetworkCosts(spec, "stm32l476rg", "tflm", "int8").figures([12, 48])["costs"][0][2])
    costs = NetworkCosts(spec, "stm32l476rg", "tflm", "int8", flash=flash)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 24, 1, 1)).astype("float32")
    y = (X[:, :8, 0, 0].sum(1) > 0).astype(int) + (X[:, 8:16, 0, 0].sum(1) > 0).astype(int)
    result = shrink(costs, X[:200], y[:200], X[200:], y[200:], epochs=6, finetune_epochs=0, log=lambda line: None)
    assert costs.figures(result.counts)["fits"][0]
    filters, units = result.counts
    assert filters <= 12 and units >= 40, result.counts


def test_depth_blocks_are_found_and_costed_by_memsim_without_them():
    costs = NetworkCosts(DS_BLOCKS, "stm32f303k8", "tflm", "int8")
    assert costs.blocks == [(f"dw{b}", f"dw{b}_bn", f"dw{b}_r", f"pw{b}") for b in range(3)]
    assert [costs.producers[g] for g in costs.searchable] == [["c0", "pw0", "pw1", "pw2"], ["wide"]]
    setting = [7, 9, 1, 0, 1]  # channels of the two groups, then the middle block skipped (kernels whole)
    spec = costs.spec_at(setting)
    assert [item["name"] for item in spec["layers"]] == [
        "x", "c0", "bn", "r", "dw0", "dw0_bn", "dw0_r", "pw0", "dw2", "dw2_bn", "dw2_r", "pw2", "wide", "gap", "out"]
    fp = memsim.footprint(spec, "stm32f303k8", "tflm", "int8")
    assert costs.figures(setting)["costs"][0][2] == costs.board.flash_bytes - fp.flash_headroom_bytes
    assert costs.figures([7, 9])["costs"][0].tolist() == costs.figures([7, 9, 1, 1, 1])["costs"][0].tolist()
    value, grad = costs.at(setting)  # a kept block's entry: what skipping it changes; a skipped one's: keeping it
    for k, step in ((2, -1), (3, 1)):
        other = list(setting)
        other[k] += step
        assert np.allclose((costs.figures(other)["costs"][0] - value) / step, grad[:, k])
    assert NetworkCosts(DS_BLOCKS, "stm32f303k8", depth=False).blocks == []
    # spans with a block skipped (its producer pw1 gone): the tied group's producers left span more than its 7
    # channels; "wide" (1x1 over those 7 channels + bias) spans 8 of its 9
    assert costs.span(setting)[:2].tolist() == [7, 8]


def test_kernel_sizes_are_searched_ring_by_ring_and_costed_by_memsim():
    costs = NetworkCosts(DS_BLOCKS, "stm32f303k8", "tflm", "int8")
    assert costs.kernels == [("c0", 1), ("dw0", 1), ("dw1", 1), ("dw2", 1)]  # 3x3 'same': one ring each
    setting = [7, 9, 1, 1, 1, 0, 1, 0, 1]  # c0 and dw1 narrowed to 1x1
    spec = costs.spec_at(setting)
    sizes = {item["name"]: item.get("kernel_size") for item in spec["layers"]}
    assert sizes["c0"] == [1, 1] and sizes["dw1"] == [1, 1] and sizes["dw0"] == [3, 3]
    fp = memsim.footprint(spec, "stm32f303k8", "tflm", "int8")
    assert costs.figures(setting)["costs"][0][3] == fp.latency_high_ms
    value, grad = costs.at(setting)
    for k, step in ((5, 1), (6, -1)):  # a narrowed kernel's entry: one ring more; a whole one's: one less
        other = list(setting)
        other[k] += step
        assert np.allclose((costs.figures(other)["costs"][0] - value) / step, grad[:, k])
    assert "kernels narrowed: c0 1x1, dw1 1x1" in costs.describe(setting)
    assert NetworkCosts(DS_BLOCKS, "stm32f303k8", kernel_sizes=False).kernels == []
    valid = {**CHAIN, "layers": [dict(item, padding="valid") if item["name"] == "c2" else item
                                 for item in CHAIN["layers"]]}
    assert NetworkCosts(valid, "stm32f303k8").kernels == []  # 'valid' padding: the shape would change
    assert NetworkCosts(RESIDUAL, "stm32f303k8").blocks == []  # layers read by a residual Add are never skipped


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), flash=st.sampled_from([None, 9_000, 12_000]),
       latency=st.sampled_from([None, 0.5, 1.0]))
def test_the_projection_with_blocks_ends_where_memsim_says_it_fits(seed, flash, latency):
    costs = NetworkCosts(DS_BLOCKS, "stm32f303k8", "tflm", "int8", flash=flash, latency_ms=latency)
    thetas = [np.random.default_rng(seed + n).normal(0.5, 1.0, n) for n in costs.full]
    try:
        masks, _ = project(costs, thetas)
    except SpaceError:
        assert not costs.figures(costs.smallest())["fits"][0]
        return
    setting = [int(m.sum()) for m in masks]
    fp = memsim.footprint(costs.spec_at(setting), "stm32f303k8", "tflm", "int8")
    assert fp.deployable and (flash is None or fp.flash_bytes + fp.flash_safety_bytes <= flash)
    assert latency is None or fp.latency_high_ms <= latency
    start = kept_channels(thetas, blocks=3, kernels=4)
    assert all(not np.any(m & ~m0) for m0, m in zip(start, masks))  # only removes
    assert all(s >= 1 for s in setting[:2]) and all(s in (0, 1) for s in setting[2:])
    assert all(np.array_equal(m, np.cumprod(m).astype(bool)) for m in masks[5:])  # rings go from the outside in


@pytest.mark.toolchain
def test_gated_and_extracted_agree_with_a_block_skipped_and_kernels_narrowed():
    _gated_equals_extracted(DS_BLOCKS, (16, 12, 6, 2), block_thetas=[1.0, -1.0, 1.0],
                            kernel_thetas=[1.0, -1.0, 1.0, -0.5])


@pytest.mark.toolchain
@pytest.mark.parametrize(("name", "sample"), [("mobilenet-v1", (16, 16, 3)), ("mobilenet-v1-1d", (40, 6))])
def test_a_mobilenet_seed_is_searched_per_stage_and_by_its_shape_keeping_blocks(name, sample):
    from cbo.dnas import largest_config
    from cbo.tinyml import get_template

    template = get_template(name)
    shape = template.input_shape(sample)
    seed = largest_config(template)
    costs = NetworkCosts(template.spec(seed, shape, 4), "stm32l476rg", "tflm", "float32")
    # a width per stage (the stem shares its width with the first block's), the strided blocks never skipped
    assert seed["blocks"] == 6
    assert costs.searchable == ["conv2d", "pw_1", "pw_3", "pw_5"]
    assert [block[0] for block in costs.blocks] == ["dw_0", "dw_2", "dw_4"]
    # three blocks (deeper, the untrained signal fades below the check's tolerance), the last one skipped
    spec = template.spec({**seed, "filters": 8, "blocks": 3}, shape, 4)
    _gated_equals_extracted(spec, (8, *shape), block_thetas=[1.0, -1.0])


@pytest.mark.toolchain
def test_a_resnet8_seed_is_searched_per_residual_stack():
    from cbo.dnas import largest_config
    from cbo.tinyml import get_template

    template = get_template("resnet-8-1d")
    shape = template.input_shape((40, 6))
    spec = template.spec({**largest_config(template), "filters": 8}, shape, 4)
    costs = NetworkCosts(spec, "stm32l476rg", "tflm", "float32")
    # each Add ties its two inputs' channels: the stem with the first stack's output, each shortcut with its stack's
    assert [costs.producers[g] for g in costs.searchable] == [
        ["conv2d", "s0_b"], ["s0_a"], ["s1_a"], ["s1_b", "s1_short"], ["s2_a"], ["s2_b", "s2_short"]]
    assert costs.blocks == []  # residual stacks are not skipped (yet)
    _gated_equals_extracted(spec, (8, *shape))


def _gated_equals_extracted(spec, x_shape, block_thetas=(), kernel_thetas=None):
    from cbo.dnas._network import build_supernet, carry_weights
    from memsim.frontends.keras import keras_from_spec, quiet_keras

    keras = quiet_keras()
    keras.utils.set_random_seed(0)
    costs = NetworkCosts(spec, "stm32l476rg", "tflm", "float32")
    model, gates, plain, _ = build_supernet(costs)
    for layer in plain.layers:  # non-trivial BatchNorm statistics; a classifier sharp enough to tell inputs apart
        if isinstance(layer, keras.layers.BatchNormalization):  # gamma, beta, moving mean, moving variance
            layer.set_weights([np.random.default_rng(1).uniform(low, high, w.shape).astype("float32") for w, (low, high)
                               in zip(layer.get_weights(), [(0.5, 2), (-0.5, 0.5), (-0.5, 0.5), (0.5, 2)])])
        elif layer.name == plain.layers[-1].name:
            layer.set_weights([w * 100 for w in layer.get_weights()])
    rng = np.random.default_rng(2)
    thetas = [rng.normal(0, 1, int(g.channels)) for g in gates[:len(costs.searchable)]]
    thetas += [np.array([t]) for t in block_thetas]
    thetas += [np.array([t]) for t in kernel_thetas] if kernel_thetas is not None else [
        np.ones(rings) for _, rings in costs.kernels]
    for g, t in zip(gates, thetas):
        g.theta.assign(t.astype("float32"))
    masks = kept_channels(thetas, len(costs.blocks), len(costs.kernels))
    setting = [int(m.sum()) for m in masks]
    sub = keras_from_spec(costs.spec_at(setting))
    assert len(sub.layers) < len(plain.layers) or not any(t < 0 for t in block_thetas)
    assert kernel_thetas is None or costs.kernel_rings(setting) != dict(costs.kernels)  # some kernel narrowed
    carry_weights(costs, plain, masks, sub)
    X = np.random.default_rng(0).normal(size=x_shape).astype("float32")
    gated = model.predict(X, verbose=0)
    assert np.allclose(gated, sub.predict(X, verbose=0), atol=1e-5)
    assert np.ptp(gated, axis=0).max() > 1e-4  # outputs vary with the input well beyond the tolerance


@pytest.mark.toolchain
def test_gated_network_and_the_extracted_one_compute_the_same():
    # conv -> BN -> pool -> conv (same) -> tanh -> flatten -> dense -> BN -> classifier: the flatten layout and the
    # BatchNorms after a searched layer are sliced with it
    spec = {**CHAIN, "layers": CHAIN["layers"][:7] + [
        {"type": "Dense", "name": "d1", "units": 40, "activation": "relu"},
        {"type": "BatchNormalization", "name": "bn2"},
        {"type": "Dense", "name": "out", "units": 5, "activation": "softmax"}]}
    _gated_equals_extracted(spec, (64, 16, 8, 1))


@pytest.mark.toolchain
def test_shrink_command_ends_in_a_confirmed_export_that_footprint_agrees_with(tmp_path, capsys):
    from autotinyml_cli.main import main
    from cbo.tinyml import load_dataset

    data = np.random.default_rng(0)
    ds = load_dataset("digits")
    keep = data.choice(len(ds.X), 400, replace=False)
    path = tmp_path / "digits400.npz"
    np.savez(path, X=ds.X[keep], y=ds.y[keep])
    out = tmp_path / "export"
    # 8 + 2 epochs, as the refusal's advice says: after 4 + 1 the network classifies ~37 % and its int8 version
    # sits on X-CROSS's 95 % line, where any change of the training's random draws decides the verdict
    code = main(["shrink", "--space", "paper-har", "--dataset", str(path), "--target", "stm32f303k8",
                 "--epochs", "8", "--finetune-epochs", "2", "--out", str(out), "--seed", "0", "--latency-ms", "5"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warm-up" in err and "projection:" in err
    report = json.loads((out / "report.json").read_text())
    assert report["deployable"] and report["verdict_source"]["kind"] == "measured"
    shrunk = report["shrink"]
    assert all(c <= s for c, s in zip(shrunk["channels"], shrunk["seed_channels"]))
    assert shrunk["channels"] != shrunk["seed_channels"]  # the seed (256, 256) does not fit this board
    # each hidden conv/dense activation was chosen (the weights of the choice sum to one), the softmax kept
    from cbo.dnas import ACTIVATION_CHOICES

    assert set(shrunk["activations"]) == {"conv2d", "dense"}
    assert all(a in ACTIVATION_CHOICES for a in shrunk["activations"].values())
    for name, weights in shrunk["activation_weights"].items():
        assert abs(sum(weights) - 1) < 0.01 and ACTIVATION_CHOICES[int(np.argmax(weights))] == shrunk["activations"][name]
    fp = memsim.footprint(out / "model.tflite", "stm32f303k8", "tflm", latency_budget_ms=5)
    assert fp.deployable and fp.model_bytes == (out / "model.tflite").stat().st_size
    # the latency budget: met by the top of the time model's band, in report.json as the re-read says it
    lat = report["latency"]
    assert lat["budget_ms"] == 5 and lat["high_ms"] <= 5 and (lat["ms"], lat["high_ms"]) == (fp.latency_ms,
                                                                                          fp.latency_high_ms)


@pytest.mark.toolchain
def test_shrink_on_basicmotions_exports_a_confirmed_network_above_ninety_percent(tmp_path, capsys):
    """Issue 32's acceptance line, with the command's defaults: 60 training samples get batches of 8 (8 steps an
    epoch; with 32, 2 steps an epoch left the network at 70 %)."""
    from autotinyml_cli.main import main
    from cbo.dnas import default_batch_size

    assert [default_batch_size(n) for n in (10, 60, 100, 256, 257, 5000)] == [8, 8, 12, 32, 32, 32]
    out = tmp_path / "export"
    assert main(["shrink", "--space", "paper-har", "--dataset", "har-basicmotions", "--target", "stm32f303k8",
                 "--out", str(out), "--seed", "0"]) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["deployable"] and report["verdict_source"]["kind"] == "measured"
    assert report["shrink"]["val_accuracy"]["fine_tuned"] >= 0.90


def test_shrink_refuses_two_seed_networks_before_any_work(tmp_path, capsys):
    from autotinyml_cli.main import main

    assert main(["shrink", "model.keras", "--space", "paper-har", "--out", str(tmp_path / "o")]) == 2
    assert "not both" in capsys.readouterr().err


def test_with_no_seed_network_named_shrink_seeds_from_a_reference_architecture_for_the_data():
    from cbo.dnas import largest_config, seed_template
    from cbo.tinyml import get_template

    assert seed_template((8, 8))[0] == "paper-har"  # too small for DS-CNN's strided blocks
    assert seed_template((64,))[0] == "paper-har"  # feature vectors
    for shape, name, said in (((32, 32, 3), "ds-cnn", "32x32x3 images"),
                              ((100, 6), "ds-cnn-1d", "100x6 sensor windows")):
        chosen, why = seed_template(shape)
        assert chosen == name and said in why
        template = get_template(name)  # a seed shrink can search: its width, its blocks and its first kernel
        seed = largest_config(template)
        assert seed["blocks"] == 4 and seed["kernel"] == max(template.space["kernel"].choices)
        costs = NetworkCosts(template.spec(seed, template.input_shape(shape), 10), "stm32l476rg", "tflm", "int8")
        costs.check_feasible()
        assert len(costs.searchable) == 1 and len(costs.blocks) == seed["blocks"]
        assert dict(costs.kernels)["conv2d"] == (seed["kernel"] - 1) // 2


@pytest.mark.toolchain
def test_shrink_with_no_seed_named_says_which_it_chose(tmp_path, capsys):
    from autotinyml_cli.main import main

    code = main(["shrink", "--epochs", "2", "--finetune-epochs", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "template ds-cnn-1d (chosen for 100x6 sensor windows" in err


@pytest.mark.toolchain
def test_shrink_starts_from_a_users_keras_model(tmp_path, capsys):
    # a trained user model (a .keras chain) is the seed: the search starts from its weights, and the export fits
    from autotinyml_cli.main import main
    from cbo.tinyml import load_dataset
    from memsim.frontends.keras import keras_from_spec, quiet_keras

    keras = quiet_keras()
    keras.utils.set_random_seed(0)
    ds = load_dataset("digits")
    keep = np.random.default_rng(1).choice(len(ds.X), 300, replace=False)
    np.savez(tmp_path / "d.npz", X=ds.X[keep], y=ds.y[keep])
    spec = {"name": "user_net", "layers": [
        {"type": "Input", "name": "img", "shape": [8, 8, 1]},
        {"type": "Conv2D", "name": "conv", "filters": 96, "kernel_size": 3, "activation": "relu"},
        {"type": "Flatten", "name": "flat"},
        {"type": "Dense", "name": "hidden", "units": 128, "activation": "relu"},
        {"type": "Dense", "name": "out", "units": 10, "activation": "softmax"}]}
    model = keras_from_spec(spec)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(ds.X[keep].reshape(-1, 8, 8, 1), ds.y[keep], epochs=2, verbose=0)
    model.save(tmp_path / "user.keras")
    out = tmp_path / "export"
    code = main(["shrink", str(tmp_path / "user.keras"), "--dataset", str(tmp_path / "d.npz"), "--target",
                 "stm32f303k8", "--epochs", "3", "--finetune-epochs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["shrink"]["seed_channels"] == [96, 128] and report["deployable"]
    assert report["shrink"]["searched_layers"] == [["conv"], ["hidden"]]


@pytest.mark.toolchain
def test_a_cut_off_shrink_continues_from_its_last_epoch_and_refuses_other_settings(tmp_path):
    from cbo.dnas import shrink
    from cbo.tinyml import load_dataset

    ds = load_dataset("digits")
    X, y = ds.X[:240].reshape(-1, 8, 8, 1).astype("float32"), ds.y[:240]
    spec = {"name": "n", "layers": [{"type": "Input", "name": "x", "shape": [8, 8, 1]},
                                    {"type": "Conv2D", "name": "c", "filters": 16, "kernel_size": 3},
                                    {"type": "Flatten", "name": "f"},
                                    {"type": "Dense", "name": "out", "units": 10, "activation": "softmax"}]}
    costs = NetworkCosts(spec, "stm32f303k8", "tflm", "int8")
    lines = []

    def cut_after_the_first_epoch(line):
        lines.append(line)
        if line.startswith("epoch 2/"):  # logged before epoch 2 is stored: a kill here keeps epoch 1 only
            raise KeyboardInterrupt

    state = tmp_path / "state"
    kw = dict(epochs=3, finetune_epochs=0, warmup_epochs=1, state_dir=state)
    with pytest.raises(KeyboardInterrupt):
        shrink(costs, X[:180], y[:180], X[180:], y[180:], log=cut_after_the_first_epoch, **kw)
    stored = json.loads((state / "state.json").read_text())
    assert stored["epoch"] == 0 and sorted(p.name for p in state.iterdir()) == ["state.json", stored["weights"]]
    (state / "supernet.epoch2.weights.h5").write_bytes(b"half written")  # a kill while the next epoch is saved
    lines.clear()
    again = shrink(costs, X[:180], y[:180], X[180:], y[180:], log=lines.append, **kw)
    assert lines[0].startswith("continuing from epoch 1") and [r["epoch"] for r in again.history] == [0, 1, 2]
    assert again.history[0]["loss"] == stored["history"][0]["loss"]
    # other work on the same state: refused, naming what changed, the state untouched
    before = {p.name: p.read_bytes() for p in state.iterdir()}
    with pytest.raises(SpaceError, match=r"of other work \(seed changed\)"):
        shrink(costs, X[:180], y[:180], X[180:], y[180:], **{**kw, "seed": 5})
    with pytest.raises(SpaceError, match=r"of other work \(the data's content changed\)"):
        shrink(costs, X[:180] + 0.5, y[:180], X[180:], y[180:], **kw)
    with pytest.raises(SpaceError, match=r"of other work \(epochs, gate learning rate changed\)"):
        shrink(costs, X[:180], y[:180], X[180:], y[180:], **{**kw, "epochs": 4})
    assert {p.name: p.read_bytes() for p in state.iterdir()} == before


@pytest.mark.toolchain
def test_fine_tuning_keeps_the_start_that_does_better_on_the_held_back_tenth():
    # carried weights that were deliberately ruined (all zero: every unit dead) against a fresh start: the fresh one
    # must win the choice, and the model returned must be the one that won
    from cbo.dnas._search import _accuracy, _finetune
    from memsim.frontends.keras import keras_from_spec

    spec = {"name": "mlp", "layers": [{"type": "Input", "name": "x", "shape": [6]},
                                      {"type": "Dense", "name": "h", "units": 16, "activation": "relu"},
                                      {"type": "Dense", "name": "out", "units": 3, "activation": "softmax"}]}
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype("float32")
    y = np.argmax(X[:, :3], axis=1)  # learnable in a few epochs
    dead = keras_from_spec(spec)
    dead.set_weights([np.zeros_like(w) for w in dead.get_weights()])
    model, start, picked_on = _finetune(dead, spec, X, y, epochs=5, batch_size=32, learning_rate=1e-2, seed=0)
    assert start == "scratch" and picked_on["scratch"] > picked_on["carried"]
    assert model is not dead and _accuracy(model, X, y) > 0.6


def test_group_names_do_not_depend_on_the_interpreters_hash_seed():
    # gates are named after their group, and a cut-off shrink reloads its gates by name in a new process
    import os
    import subprocess
    import sys

    code = ("import json, sys; from cbo.dnas import channel_groups; "
            "print(json.dumps(channel_groups(json.loads(sys.argv[1])), sort_keys=True))")
    outs = {subprocess.run([sys.executable, "-c", code, json.dumps(RESIDUAL)], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
            for seed in range(6)}
    assert len(outs) == 1
    groups, searched, _ = json.loads(outs.pop())
    assert groups["b2"] == groups["stem"] == "stem" and "stem" in searched
