"""paramtui's own commands for the ctrl+p palette: the current screen's actions (by their
bindings' descriptions) and "go to tensor" over every tensor name of the open checkpoint.

Names are data: a checkpoint may hold 100,000 of them. A regular expression (the query's
characters in order, run in C) picks the candidates first; only those are scored by Textual's
fuzzy matcher, and the best few are returned."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from paramtui.tui.screens.main import MainScreen

BEST_TENSORS = 20  # hits shown for "go to tensor"


class ScreenActions(Provider):
    """Every enabled action of the screen the palette was opened on, named as in the Footer."""

    def _actions(self) -> Iterable[tuple[str, str, str, object]]:
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            if not binding.show and active.node is not self.screen:
                continue  # a widget's hidden keys (the tree's cursor moves): not commands
            seen.add(binding.action)
            shown = self.app.get_key_display(binding)
            yield binding.description, f"key {shown}", binding.action, active.node

    async def discover(self) -> Hits:
        for text, help_text, action, node in self._actions():
            yield DiscoveryHit(text, partial(self._run, node, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, action, node in self._actions():
            score = matcher.match(text)
            if score > 0:
                run = partial(self._run, node, action)
                yield Hit(score, matcher.highlight(text), run, help=help_text)

    async def _run(self, node: object, action: str) -> None:
        await self.app.run_action(action, node)  # type: ignore[arg-type]


class GoToTensor(Provider):
    """Fuzzy "go to tensor …" over every tensor name; the tree's cursor moves to the choice."""

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, MainScreen) or not query.strip():
            return
        matcher = self.matcher(query)
        names = screen.index.tensors
        scored = ((matcher.match(name), name) for name in candidates(names, query))
        for score, name in heapq.nlargest(BEST_TENSORS, scored):
            if score > 0:
                go = partial(screen.viewing.go_to_tensor, name)
                yield Hit(score, matcher.highlight(name), go, text=name, help="go to tensor")


def candidates(names: Iterable[str], query: str) -> list[str]:
    """The names holding the query's characters in order (any case), as the fuzzy match needs."""
    pattern = re.compile(".*?".join(re.escape(c) for c in query if not c.isspace()), re.I)
    return [name for name in names if pattern.search(name)]
