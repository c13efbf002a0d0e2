"""Differentiable NAS under memsim's constraints (``autotinyml shrink``; the third seed, Burrello et al. 2024).

One training of a seed network with a trainable gate per output channel of every searched layer, per block the
identity can replace and per ring of a searched kernel (and a trained choice among ReLU, tanh and sigmoid for each
conv/dense activation), its RAM, Flash and latency penalised with memsim's exact figures, then a projection that
removes channels (blocks, rings) until memsim says the network fits, the trained weights carried over, and a short
fine-tuning. TensorFlow is imported only when ``shrink`` runs.
"""

from cbo.dnas._costs import (ACTIVATION_CHOICES, CONSTRAINTS, NetworkCosts, channel_groups, kernel_layers,
                             skippable_blocks)
from cbo.dnas._project import kept_channels, project
from cbo.dnas._search import ShrinkResult, default_batch_size, shrink
from cbo.dnas.run import ShrinkOptions, ShrinkOutcome, run_shrink

__all__ = [
    "ACTIVATION_CHOICES",
    "CONSTRAINTS",
    "NetworkCosts",
    "ShrinkOptions",
    "ShrinkOutcome",
    "ShrinkResult",
    "channel_groups",
    "default_batch_size",
    "kept_channels",
    "kernel_layers",
    "largest_config",
    "project",
    "run_shrink",
    "seed_template",
    "shrink",
    "skippable_blocks",
]


# A template's parameters whose largest value shrink can take back: channels, blocks (the identity replaces them)
# and kernel sizes (rings from the outside in)
_SHRINKABLE = ("filters", "units", "blocks", "kernel")


def largest_config(template) -> dict:
    """A template's seed network for ``shrink``: its baseline with every parameter shrink searches (channels,
    blocks, kernel size) at its largest value (the search then only removes)."""
    config = dict(template.baseline)
    for p in template.space.params:
        if p.name in _SHRINKABLE and hasattr(p, "choices"):
            config[p.name] = max(p.choices)
    return config


def seed_template(sample_shape: tuple) -> "tuple[str, str]":
    """(template, why) seeding ``shrink`` when the user names no seed network: the space ``search`` would search
    (cbo.tinyml.space_for_data), so the two commands start from the same family."""
    from cbo.tinyml.templates import space_for_data

    return space_for_data(sample_shape)
