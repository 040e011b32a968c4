"""Field descriptions from one glossary per domain.

The same field (``webhook_url``, ``phone_numbers``, ``desired_port_date``)
appears in a domain's create, update and public models; its meaning is
written once, in the glossary, and given to every model of the module that
has the field and no description of its own (a model may still say more
about a field where it means something particular there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel


def describe(models: Iterable[type[BaseModel]], glossary: Mapping[str, str]) -> None:
    """Give each field of ``models`` without a description its glossary entry
    (``"Model.field"`` first, then ``"field"``).

    Pass the models in definition order: a model embeds the schemas of the
    models it nests as they were when it was rebuilt, so those come first.
    """
    for model in models:
        for name, field in model.model_fields.items():
            text = glossary.get(f"{model.__name__}.{name}", glossary.get(name))
            if field.description is None and text is not None:
                field.description = text
        model.model_rebuild(force=True)


def models_of(namespace: Mapping[str, object], module: str) -> list[type[BaseModel]]:
    """The pydantic models defined in ``module``, in definition order."""
    return [value for value in namespace.values()
            if isinstance(value, type) and issubclass(value, BaseModel)
            and value.__module__ == module]
