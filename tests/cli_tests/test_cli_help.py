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
