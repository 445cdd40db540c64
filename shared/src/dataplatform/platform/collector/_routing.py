"""Which bronze table a source's event lands in, from the streams products declare."""

from dataclasses import dataclass

from dataplatform.core.connectors.lakehouse import quarantine_of
from dataplatform.core.product import Product, Stream
from dataplatform.platform.sources import Source


@dataclass(frozen=True)
class Destination:
    """Where an accepted event goes, and where its batch's rejects go."""

    table: str
    quarantine: str


class EventRouter:
    """Routes by the source's product and kind; server events by their context's surface."""

    def __init__(self, products: list[Product]) -> None:
        self._streams: dict[tuple[str, str], Destination] = {}
        self._by_surface: dict[str, Destination] = {}
        for product in products:
            for stream in product.streams:
                destination = _destination(product, stream)
                for kind in stream.source_kinds:
                    self._streams.setdefault((product.name, kind), destination)
                if stream.surface and "server" in stream.source_kinds:
                    self._by_surface.setdefault(stream.surface, destination)

    def destination(self, source: Source, surface: str | None = None) -> Destination:
        if source.kind == "server" and surface in self._by_surface:
            return self._by_surface[surface]
        try:
            return self._streams[(source.product, source.kind)]
        except KeyError:
            raise LookupError(
                f"Source `{source.name}` sends `{source.kind}` events to `{source.product}`, "
                "which declares no stream for them."
            ) from None

    def quarantine_for(self, source: Source) -> str:
        return self.destination(source).quarantine


def _destination(product: Product, stream: Stream) -> Destination:
    return Destination(
        table=product.table_name(stream.table),
        quarantine=quarantine_of(product.namespace, stream.name),
    )
