"""Every option of every command says, in one line, what it does."""

import argparse

from autotinyml_cli.main import build_parser


def test_every_option_has_a_one_line_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest == "help":
                continue
            text = action.help or ""
            if not text.strip() or "\n" in text:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"options without a one-line help: {missing}"
    assert sorted(a.dest for a in sub._choices_actions if a.help) == sorted(sub.choices)  # each command too


def test_headroom_reads_as_bytes_and_share_of_the_board_never_as_a_huge_negative_percentage():
    from autotinyml_cli._format import describe_headroom

    assert describe_headroom(1_488, 12_288) == "1,488 B free (12.1 % of 12,288 B)"
    assert describe_headroom(-48, 12_288) == "over by 48 B (needs 1.00x the 12,288 B)"
    # a model 45x the board: not "-4433.0 %"
    assert describe_headroom(-2_905_235, 65_536) == "over by 2,905,235 B (needs 45.33x the 65,536 B)"


def test_help_texts_of_choices_come_from_the_registries():
    # a method, runtime or template added to its registry shows in --help with no hand-written list to update
    import cbo
    import memsim
    from cbo.tinyml import TEMPLATES

    assert list(cbo.METHOD_HELP) == sorted(cbo.SAMPLERS, key=list(cbo.METHOD_HELP).index)
    assert set(cbo.METHOD_HELP) == set(cbo.SAMPLERS)
    from autotinyml_cli.main import build_parser

    text = " ".join(build_parser()._subparsers._group_actions[0].choices["search"].format_help().split())
    for name in [*cbo.SAMPLERS, *memsim.RUNTIMES, *TEMPLATES]:
        assert name in text, name
