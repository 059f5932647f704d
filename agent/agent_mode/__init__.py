"""Agent mode: the patch step as a loop of model turns and tool calls (run.solve = "agent").

* mode.py: which solver a run uses and how its model calls tools (native or text), decided once.
* loop.py: the loop as a LangGraph subgraph (a model node and a tool node, each step a checkpoint)
  run by the patch step; its final diff is the attempt's candidate, tested by verify.
* actions.py: reading one action from a reply (a native tool call, or a fenced ```tool block).
* window.py: the conversation sent each turn, old observations elided to fit the window.
* toolboxes.py: opening the run's tool box (agent/agent_mode/toolbox.py make_toolbox, or
  Deps.toolbox_factory) on the working copy restored to the diff so far; closing it.
* record.py: each step as the trajectory ("agent_step"), the report and report.md show it.
"""
