"""Datasets that feature apps serve themselves, listed on the open-data page
(``mesads.opendata``) without the features importing each other (they are siblings in the
house's layers): a feature registers here, in its ``AppConfig.ready()``, a title, a
description and the URL names of its file and of its Table Schema."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServedDataset:
    title: str
    description: str
    download: str  # URL name of the file
    schema: str  # URL name of its Table Schema


_datasets: list[ServedDataset] = []


def register_served_dataset(dataset: ServedDataset) -> None:
    if dataset not in _datasets:
        _datasets.append(dataset)


def served_datasets() -> tuple[ServedDataset, ...]:
    return tuple(_datasets)
