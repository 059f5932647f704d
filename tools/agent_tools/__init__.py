"""The deterministic tools agent mode gives the model (view, search, edit), and the contract every
tool box honours (tools/agent_tools/base.py). Running commands (bash, run_tests) needs a container
and lives with the sandbox; agent/agent_mode/toolbox.py puts them together."""
from tools.agent_tools.arguments import checked
from tools.agent_tools.base import Observation, ToolBox, ToolSpec
from tools.agent_tools.edit import CREATE, EDIT, INSERT, create, edit, insert
from tools.agent_tools.search import DEFINITION, REFERENCES, SEARCH, definition, references, search
from tools.agent_tools.view import VIEW, view

__all__ = ["CREATE", "DEFINITION", "EDIT", "INSERT", "REFERENCES", "SEARCH", "VIEW", "Observation", "ToolBox",
           "ToolSpec", "checked", "create", "definition", "edit", "insert", "references", "search", "view"]
