"""Shell completion scripts (bash, zsh, fish) generated from the argparse parsers of the command
registry, so a new command or option completes without anyone editing a script.

The scripts are static word lists: completing runs no Python (instant over a slow link)."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
FISH_FILE = "~/.config/fish/completions/paramtui.fish"
PATH_WORDS = ("file", "path", "dir", "folder", "out", "config")  # in an option's metavar or dest


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]  # the values it accepts, when argparse knows them
    files: bool  # complete its value with file names


@dataclass(frozen=True)
class Words:
    """What one parser accepts: its options and the words its positionals take."""

    options: tuple[Option, ...]
    positional_choices: tuple[str, ...]


def words_of(parser: argparse.ArgumentParser) -> Words:
    options: list[Option] = []
    choices: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        values = tuple(str(c) for c in action.choices or ())
        if not action.option_strings:
            choices.extend(values)
            continue
        takes = action.nargs != 0
        files = takes and not values and _names_a_path(action)
        text = (action.help or "").replace("%%", "%").split(". ")[0]
        options.append(Option(tuple(action.option_strings), text, takes, values, files))
    return Words(tuple(options), tuple(choices))


def _names_a_path(action: argparse.Action) -> bool:
    name = f"{action.metavar or ''} {action.dest}".lower()
    return any(word in name for word in PATH_WORDS)


def script(shell: str, top: Words, commands: dict[str, tuple[str, Words]]) -> str:
    """The completion script of `shell`; `commands` maps each name to (help, words)."""
    if shell == "fish":
        return fish_script(top, commands)
    body = bash_script(top, commands)
    return body if shell == "bash" else ZSH_HEAD + body


def bash_script(top: Words, commands: dict[str, tuple[str, Words]]) -> str:
    names = " ".join(commands)
    cases = [_bash_case('""', top, names)]
    cases += [
        _bash_case(name, words, " ".join(words.positional_choices))
        for name, (_, words) in commands.items()
    ]
    return BASH_TEMPLATE.format(names="|".join(commands), cases="\n".join(cases))


def _bash_case(name: str, words: Words, positional: str) -> str:
    flags = " ".join(flag for option in words.options for flag in option.flags)
    lines = [
        f"        {name})",
        f"            opts={shlex.quote(flags)}; words={shlex.quote(positional)}",
    ]
    for option in words.options:
        if option.takes_value:
            kind = "files" if option.files else "values"
            values = shlex.quote(" ".join(option.choices))
            pattern = "|".join(option.flags)
            value = f"_paramtui_value {kind} {values}; return;;"
            lines.append(f'            case "$prev" in {pattern}) {value} esac')
    lines.append("            ;;")
    return "\n".join(lines)


def fish_script(top: Words, commands: dict[str, tuple[str, Words]]) -> str:
    lines = [f"# paramtui completion for fish: paramtui completion fish > {FISH_FILE}"]
    lines.append("complete -c paramtui -f")
    first = "__fish_use_subcommand"
    lines += [_fish_option(first, option) for option in top.options]
    lines.append(f"complete -c paramtui -n {first} -F")
    for name, (text, words) in commands.items():
        lines.append(f"complete -c paramtui -n {first} -a {name} -d {shlex.quote(text)}")
        seen = f"'__fish_seen_subcommand_from {name}'"
        lines += [_fish_option(seen, option) for option in words.options]
        if words.positional_choices:
            choices = shlex.quote(" ".join(words.positional_choices))
            lines.append(f"complete -c paramtui -n {seen} -a {choices}")
        else:
            lines.append(f"complete -c paramtui -n {seen} -F")
    return "\n".join(lines) + "\n"


def _fish_option(condition: str, option: Option) -> str:
    parts = [f"complete -c paramtui -n {condition}"]
    for flag in option.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if option.choices:
        parts.append(f"-x -a {shlex.quote(' '.join(option.choices))}")
    elif option.files:
        parts.append("-r -F")
    elif option.takes_value:
        parts.append("-x")
    if option.help:
        parts.append(f"-d {shlex.quote(option.help)}")
    return " ".join(parts)


ZSH_HEAD = """#compdef paramtui
# paramtui completion for zsh (through zsh's bash completion layer):
#   paramtui completion zsh > "${fpath[1]}/_paramtui"   or   source <(paramtui completion zsh)
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit -u; }
autoload -U +X bashcompinit && bashcompinit
"""

BASH_TEMPLATE = """# paramtui completion for bash: source <(paramtui completion bash), or save it as
# ~/.local/share/bash-completion/completions/paramtui
_paramtui_value() {{
    if [[ $1 == files ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$2" -- "$cur"))
    fi
}}

_paramtui() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local cmd="" opts="" words="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            {names}) cmd="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    case "$cmd" in
{cases}
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -n $cmd && -n $words ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else  # a checkpoint's path (and, before a command, the command names)
        COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -o bashdefault -F _paramtui paramtui
"""
