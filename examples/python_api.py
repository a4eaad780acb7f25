# %% [markdown]
# # sparklec from Python
#
# Run this file with `python examples/python_api.py`, or open it as a notebook
# (VS Code, or Jupyter with jupytext): each `# %%` is a cell.  It writes its
# files under `deployments/` in the current directory.

# %%
from pathlib import Path

import sparklec
from sparklec import Pipeline

examples = Path(__file__).parent / "dsl"

# %% [markdown]
# Find a pipeline by name: `<config_dir>/<name>/<env>.json|.yaml`, `<config_dir>/<name>.spk`,
# or the one file so named below `config_dir`.

# %%
pipeline = Pipeline.get("customer_etl", env="prod", config_dir=examples)
ir = pipeline.build()  # verified and optimised; building again changes nothing
print(f"{pipeline.name}: {sum(len(p.steps) for p in ir.pipelines)} top-level steps")

# %% [markdown]
# In a notebook, the graph shows as a Mermaid flowchart.

# %%
graph = pipeline.graph()
print(graph.mermaid())

# %% [markdown]
# Deploy for each orchestrator: `deployments/step_functions/customer_etl/`,
# `deployments/argo/customer-etl/`, `deployments/dbt/customer_etl/`.

# %%
for orchestrator in ("stepfunctions", "argo", "dbt"):
    written = pipeline.deploy(orchestrator=orchestrator)
    print(f"{orchestrator}: {len(written)} files in {written[0].parent}")

# %% [markdown]
# Backend options are keyword arguments; `compile` keeps the files in memory.

# %%
unfused = sparklec.compile(pipeline, "dbt", fuse=False)
print(sorted(path for path in unfused if path.startswith("models/")))

# %% [markdown]
# Problems come back as diagnostics from `validate`, or raised as `SparklecError` by the rest.

# %%
broken = Pipeline.from_dsl("pipeline broken {\n  task clean = from nowhere | drop_exact_duplicates\n}\n")
for diagnostic in broken.validate():
    print(diagnostic.code, diagnostic.span, diagnostic.message)
try:
    broken.deploy(orchestrator="argo")
except sparklec.SparklecError as error:
    print(error)
