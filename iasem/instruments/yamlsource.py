"""Read a YAML file and remember the line of every value, so errors can name file and line.

PyYAML keeps no positions in the objects it builds, and it silently lets a later duplicate key win. Here we
compose the node tree ourselves, record ``path -> line`` for every node, and refuse duplicate keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InstrumentError

Loc = tuple[str | int, ...]


@dataclass
class YamlSource:
    """The parsed content of one YAML file with the line of each value (1-based)."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing value that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


def load_yaml(path: str | Path, display_name: str | None = None) -> YamlSource:
    """Parse ``path``; raise InstrumentError naming the file and line on any syntax problem."""
    path = Path(path)
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstrumentError.single(name, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InstrumentError.single(name, None, f"cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InstrumentError.single(name, line, f"YAML syntax error: {exc.problem or exc}") from None
    if node is None:
        raise InstrumentError.single(name, 1, "file is empty")
    source = YamlSource(file=name, data=None)
    source.data = _construct(node, (), source, yaml.SafeLoader(""))
    return source


def _construct(node: yaml.Node, loc: Loc, source: YamlSource, loader: yaml.SafeLoader) -> Any:
    source.lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise InstrumentError.single(source.file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _construct(value_node, (*loc, key), source, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, (*loc, i), source, loader) for i, child in enumerate(node.value)]
    # The resolver already tagged the scalar (int, bool, str, ...) while composing; the loader builds it.
    return loader.construct_object(node, deep=True)
