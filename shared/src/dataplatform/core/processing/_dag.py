"""The graph of a product's models: who reads whom, in which order they run."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

from dataplatform.core.declarations import PII
from dataplatform.core.errors import did_you_mean
from dataplatform.core.processing._errors import ModelDefinitionError
from dataplatform.core.processing._models import Model, Reference


@dataclass(frozen=True)
class ModelGraph:
    """Models of one product keyed by `<product>.<layer>.<table>`, with their inputs."""

    product: str
    models: dict[str, Model]
    inputs: dict[str, tuple[str, ...]]  # model -> fully qualified tables it reads
    # `{table: columns}` that hold a person, of the product's tables: the runner hands them to
    # the lake's suppression guard.
    person_columns: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def order(self) -> list[str]:
        """Models in an order where each comes after every model it reads (ties by name)."""
        sorter = TopologicalSorter(
            {name: [i for i in self.inputs[name] if i in self.models] for name in self.models}
        )
        sorter.prepare()
        ordered: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            ordered.extend(ready)
            sorter.done(*ready)
        return ordered

    def downstream(self, table: str) -> list[str]:
        """Models that read `table`, directly or through other models, in run order."""
        reached: set[str] = set()
        frontier = [table]
        while frontier:
            current = frontier.pop()
            for model, inputs in self.inputs.items():
                if current in inputs and model not in reached:
                    reached.add(model)
                    frontier.append(model)
        return [name for name in self.order() if name in reached]


def build_graph(
    product: str,
    models: Sequence[Model],
    declared_tables: Iterable[str],
    person_columns: Mapping[str, frozenset[str]] | None = None,
) -> ModelGraph:
    """Resolve every reference and refuse unknown ones, duplicates and cycles.

    `product` is the namespace (`web_user_analytics`); `declared_tables` are the product's own
    tables that are not models (its bronze tables), as `<layer>.<table>`; `person_columns` the
    pii columns of all its tables (`{full name: columns}`), by default those the models' headers
    tag `pii`.
    """
    by_name: dict[str, Model] = {}
    for model in models:
        qualified = f"{product}.{model.name}"
        if qualified in by_name:
            raise ModelDefinitionError(
                model.path,
                None,
                f"model `{model.name}` is also defined in {by_name[qualified].path}; one table, one model.",
            )
        by_name[qualified] = model
    own_tables = {f"{product}.{table}" for table in declared_tables} | set(by_name)
    # A model may read one input twice (`ref` and `ref_since`): it is one input.
    inputs = {
        qualified: tuple(
            dict.fromkeys(
                _resolve(product, model, reference, own_tables) for reference in model.references
            )
        )
        for qualified, model in by_name.items()
    }
    if person_columns is None:
        person_columns = {
            name: frozenset(c for c, spec in model.header.columns.items() if PII in spec.tags)
            for name, model in by_name.items()
        }
    graph = ModelGraph(product, by_name, inputs, person_columns)
    try:
        TopologicalSorter(
            {name: [i for i in deps if i in by_name] for name, deps in inputs.items()}
        ).prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        steps = " -> ".join(
            f"{name.split('.', 1)[1]} ({by_name[name].path.name})" for name in cycle
        )
        raise ModelDefinitionError(
            by_name[cycle[0]].path, None, f"models read each other in a cycle: {steps}"
        ) from None
    return graph


def _resolve(product: str, model: Model, reference: Reference, own_tables: set[str]) -> str:
    if reference.product is not None and reference.product != product:
        return f"{reference.product}.{reference.table}"  # another product's published gold table
    qualified = f"{product}.{reference.table}"
    if qualified == f"{product}.{model.name}":
        raise ModelDefinitionError(
            model.path, reference.line, f"model `{model.name}` reads itself."
        )
    if qualified not in own_tables:
        known = sorted(name.split(".", 1)[1] for name in own_tables)
        hint = did_you_mean(reference.table, known)
        raise ModelDefinitionError(
            model.path,
            reference.line,
            f"ref('{reference.table}') names no model or table of `{product}`.{hint}",
        )
    return qualified
