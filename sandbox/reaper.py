"""Remove sandbox containers whose owning process died (SIGKILL, OOM, reboot) before it could.

Conservative: a container without owner labels, or from another pid namespace, is left alone,
since its owner may still be running (an older patchwright, a worker in a container).
"""

from __future__ import annotations

from docker.errors import APIError, NotFound

from .owner import SANDBOX, Owner, owner_state


def reap_orphans(client_or_sandbox) -> list[str]:
    """Force-remove every labelled container whose owner is dead; return their ids."""
    client = getattr(client_or_sandbox, "client", client_or_sandbox)
    removed: list[str] = []
    for container in client.containers.list(all=True, filters={"label": f"{SANDBOX}=1"}):
        if owner_state(container.labels) is not Owner.DEAD:
            continue
        try:
            container.remove(force=True)
        except NotFound:
            continue  # removed meanwhile, by its owner's cleanup or another reaper
        except APIError:
            continue  # removal already in progress; the next reap sees it gone
        removed.append(container.id)
    return removed
