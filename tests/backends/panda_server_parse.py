"""Run panda-server's own workflow parser on a rendered CWL, offline; print the tasks as JSON.

Usage: python panda_server_parse.py WORKFLOW.cwl INPUTS.yaml OUT_DS
(run in a child process: panda-client reads its settings from the environment at import).
The iDDS modules panda-server imports at module level (used only to hand a parsed workflow to
iDDS) are replaced by empty stand-ins; parsing, resolving and verifying are the server's code.
"""

from __future__ import annotations

import json
import logging
import sys
import types

for name in ("idds", "idds.atlas", "idds.atlas.workflowv2", "idds.workflowv2"):
    sys.modules.setdefault(name, types.ModuleType(name))
stubs = {
    "idds.atlas.workflowv2.atlaslocalpandawork": ["ATLASLocalPandaWork"],
    "idds.atlas.workflowv2.atlaspandawork": ["ATLASPandaWork"],
    "idds.workflowv2.workflow": ["AndCondition", "Condition", "OrCondition", "Workflow"],
}
for module_name, classes in stubs.items():
    module = types.ModuleType(module_name)
    for class_name in classes:
        setattr(module, class_name, type(class_name, (), {}))
    sys.modules[module_name] = module

from pandaclient import PrunScript  # noqa: E402
from pandaserver.workflow.pcwl_utils import parse_workflow_file, resolve_nodes  # noqa: E402
from pandaserver.workflow.workflow_utils import get_node_id_map, set_workflow_outputs  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

cwl, inputs, out_ds = sys.argv[1:4]
log = logging.getLogger("parse")
with open(inputs) as handle:
    data = YAML(typ="safe").load(handle) or {}
nodes, root_inputs = parse_workflow_file(cwl, log)
_, _, nodes = resolve_nodes(nodes, root_inputs, data, 0, set(), out_ds, log)
set_workflow_outputs(nodes)
id_map = get_node_id_map(nodes)
template = PrunScript.main(
    True,
    ["--exec", "__dummy_exec_str__", "--outDS", out_ds, "--containerImage", "__dummy_container__"],
    dry_mode=True,
)
for key in ("noInput", "nEvents", "nEventsPerJob"):
    template.pop(key, None)
templates = {"container": template, "athena": template}
tasks = []
for node in nodes:
    node.resolve_params(templates, id_map)
    ok, message = node.verify()
    tasks.append(
        {
            "name": node.task_params["taskName"],
            "ok": ok,
            "message": message,
            "parents": sorted(id_map[p].task_params["taskName"] for p in node.parents),
            "cliParams": node.task_params["cliParams"],
        }
    )
print(json.dumps(tasks))
