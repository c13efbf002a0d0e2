"""The compiled kernels read their rules from the profiles' tables; these tests hold the two sides to one order."""

from memsim import _tflite_names as names
from memsim._kernels import codes
from memsim._kernels import tflm as K
from memsim.batch import SLOT_OPS
from memsim.profiles import tflm


def test_kernel_name_roles_follow_the_tflm_name_table():
    used = {name for name in dir(K) if name.startswith("N_")}
    assert len(used) > 30 and all(getattr(K, n) == names.NAME_ROLES.index(n[2:].lower()) for n in used)
    assert set(names.NAME_EXTRA) == set(names.NAME_ROLES)
    assert all(names.NAME_EXTRA[r] == 1 + len(names.NAME_SUFFIX[r]) for r in names.NAME_ROLES)


def test_kernel_name_constants_follow_the_profile():
    consts = tflm.name_constants("model")
    assert [consts[getattr(K, c)] for c in ("NC_PATH", "NC_OUTPUT", "NC_MERGED", "NC_QUANTIZE", "NC_GRAPH")] == [
        names.PATH_EXTRA, names.OUTPUT_NAME, names.MERGED_CONST_NAME, names.QUANTIZE_NAME, len("model")]


def test_every_operator_the_profile_prices_has_its_own_row():
    # an operator missing from TFL_OPS would silently take the "any other operator" row's default costs
    priced = (set(tflm.TAIL_OP_BYTES) | set(tflm.INT8_UNSUPPORTED)
              | {k for table in (tflm.PREPARE_TEMP_BYTES, tflm.PREPARE_TEMP_PER_CHANNEL, tflm.PREPARE_TEMP_PER_INPUT)
                 for per_dtype in table.values() for k in per_dtype}
              | {k for kinds in tflm.PER_CHANNEL_OPS.values() for k in kinds})
    assert priced <= set(codes.TFL_OPS), priced - set(codes.TFL_OPS)
    assert len(set(codes.TFL_OPS)) == len(codes.TFL_OPS)
    table = tflm.op_table("int8")
    assert table.shape[0] == codes.N_TFL and table[codes.TFL_OTHER, 0] == tflm.TAIL_DEFAULT_OP_BYTES
    assert [codes.TFL[k] for k in ("CONV_2D", "EXP")] == [codes.T_CONV, codes.T_EXP]


def test_batch_slot_names_come_from_the_one_layer_registry():
    from memsim.frontends.spec import _TYPES

    ops_of_code = {}
    for name, code in SLOT_OPS.items():
        if name != "skip":
            ops_of_code.setdefault(code, set()).add(_TYPES[name])  # every slot name is a registry name
    assert all(len(ops) == 1 for ops in ops_of_code.values()), ops_of_code  # one kernel code per canonical op
    assert all(codes.IR_OPS[code] == next(iter(ops)) for code, ops in ops_of_code.items())
    assert "relu" in SLOT_OPS and "maxpool2d" in SLOT_OPS  # Keras aliases work in the batch path too
