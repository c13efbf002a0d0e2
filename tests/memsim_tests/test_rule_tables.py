"""The numba kernel reads its rules from the profiles' tables; these tests hold the two sides to one order."""

from memsim._kernels import tflm as K
from memsim.batch import _TFL_INDEX, SLOT_OPS
from memsim.profiles import tflm


def test_kernel_name_roles_follow_the_tflm_name_table():
    assert [getattr(K, "N_" + role.upper()) for role in tflm.NAME_ROLES] == list(range(len(tflm.NAME_ROLES)))
    assert set(tflm.NAME_EXTRA) == set(tflm.NAME_ROLES)
    assert all(tflm.NAME_EXTRA[r] == 1 + len(tflm.NAME_SUFFIX[r]) for r in tflm.NAME_ROLES)


def test_kernel_name_constants_follow_the_profile():
    from memsim.batch import _static_arrays

    consts = _static_arrays("int8", "none")[8]
    assert [consts[getattr(K, c)] for c in ("C_PATH", "C_OUTPUT", "C_MERGED", "C_QUANTIZE")] == [
        tflm.PATH_EXTRA, tflm.OUTPUT_NAME, tflm.MERGED_CONST_NAME, tflm.QUANTIZE_NAME]


def test_every_tflm_op_the_kernel_emits_has_one_row_in_the_per_op_table():
    codes = list(_TFL_INDEX.values())
    assert len(set(codes)) == len(codes) and sorted(codes) == list(range(K.N_TFL_OPS))


def test_batch_slot_names_come_from_the_one_layer_registry():
    from memsim.frontends.spec import _TYPES

    ops_of_code = {}
    for name, code in SLOT_OPS.items():
        if name != "skip":
            ops_of_code.setdefault(code, set()).add(_TYPES[name])  # every slot name is a registry name
    assert all(len(ops) == 1 for ops in ops_of_code.values()), ops_of_code  # one kernel code per canonical op
    assert "relu" in SLOT_OPS and "maxpool2d" in SLOT_OPS  # Keras aliases work in the batch path too
