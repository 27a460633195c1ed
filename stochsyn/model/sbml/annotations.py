"""stochsyn's SBML annotations, read back: agent types and states, ring neighbours, logging.

:class:`SbmlAnnotations` is a part of the SBML reader (:class:`.reader._Reader` derives
from it); the writer (:mod:`.writer`) puts these annotations in the namespace
:data:`~stochsyn.model.sbml.common.STOCHSYN_NS`."""

from __future__ import annotations

from typing import Any

from ..rules import is_name
from .common import STOCHSYN_NS


class SbmlAnnotations:
    """Reads stochsyn's annotations (a base of the SBML reader)."""

    def read_annotations(self):
        """Agent types, agent states, neighbours and logging from the stochsyn annotation."""
        self.agent_types: dict[str, dict] = {}
        self.agent_state: dict[str, tuple[str, dict[str, str]]] = {}
        self.reaction_notes: dict[str, dict] = {}
        self.volume_unknown = set()
        root = self.stochsyn_element(self.model, "model")
        if root is not None:
            for node in self.child_elements(root, "agentType"):
                name = node.getAttrValue("name")
                where = self.where(self.model, "stochsyn annotation")
                if not is_name(name) or name in self.agent_types:
                    raise self.error(f"the stochsyn annotation has an invalid or repeated "
                                     f"agent type name '{name}'", where=where)
                sites = {}
                for site in self.child_elements(node, "site"):
                    values = site.getAttrValue("values").split()
                    sites[site.getAttrValue("name")] = values
                body: dict[str, Any] = {"sites": sites}
                for attribute, key in (("ringSize", "ring_size"), ("capacity", "capacity")):
                    text = node.getAttrValue(attribute)
                    if text:
                        try:
                            body[key] = int(text)
                        except ValueError:
                            raise self.error(f"the stochsyn annotation of agent type "
                                             f"'{name}' has {attribute}='{text}', not an "
                                             "integer", where=where) from None
                self.agent_types[name] = body
        for sid, sp in self.species.items():
            node = self.stochsyn_element(sp.element, "agentState")
            if node is None:
                continue
            type_name = node.getAttrValue("type")
            where = self.where(sp.element, "stochsyn annotation")
            if type_name not in self.agent_types:
                raise self.error(f"species '{sid}' is annotated as a state of agent type "
                                 f"'{type_name}', which the model annotation does not define",
                                 where=where, hint="remove the stochsyn annotation of the "
                                 "species to read it as a plain species")
            sites = {site.getAttrValue("name"): site.getAttrValue("value")
                     for site in self.child_elements(node, "site")}
            declared = self.agent_types[type_name]["sites"]
            if set(sites) != set(declared) or any(sites[k] not in declared[k] for k in sites):
                raise self.error(f"the stochsyn annotation of species '{sid}' does not name "
                                 f"one value for every site of '{type_name}'", where=where)
            self.agent_state[sid] = (type_name, sites)
        for k in range(self.model.getNumReactions()):
            r = self.model.getReaction(k)
            node = self.stochsyn_element(r, "reaction")
            if node is None:
                continue
            note: dict[str, Any] = {"log": node.getAttrValue("log") == "true"}
            neighbours = node.getAttrValue("neighbour").split()
            for neighbour in neighbours:   # one or more states (a set of them, written
                if neighbour not in self.agent_state:     # separated by spaces)
                    raise self.error(f"the stochsyn annotation of reaction '{r.getId()}' "
                                     f"names the neighbour state '{neighbour}', which is not "
                                     "an agent-state species", where=self.where(r))
            if neighbours:
                note["neighbour"] = neighbours
            moves = [(m.getAttrValue("type"), m.getAttrValue("from"), m.getAttrValue("to"))
                     for m in self.child_elements(node, "move")]
            if moves:
                note["moves"] = moves
            self.reaction_notes[r.getId()] = note
        for cid, c in self.compartment_elements.items():
            node = self.stochsyn_element(c, "compartment")
            if node is not None and node.getAttrValue("volumeUnknown") == "true":
                self.volume_unknown.add(cid)

    def stochsyn_element(self, element, name):
        if not element.isSetAnnotation():
            return None
        annotation = element.getAnnotation()
        for k in range(annotation.getNumChildren()):
            child = annotation.getChild(k)
            if child.isElement() and child.getURI() == STOCHSYN_NS and child.getName() == name:
                return child
        return None

    @staticmethod
    def child_elements(node, name):
        return [node.getChild(k) for k in range(node.getNumChildren())
                if node.getChild(k).isElement() and node.getChild(k).getName() == name]
