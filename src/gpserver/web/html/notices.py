"""What a page says after a form's change went through.

A form's POST answers with a redirect and a short-lived cookie naming the operation
(:func:`gpserver.web.html.actions.see_other`); the page it leads to shows the
sentence from this table, once. Only these fixed sentences can appear, and only
after a change went through in this browser.
"""

from __future__ import annotations

NOTICES = {
    "signedOut": "You are signed out.",
    "ownPasswordChanged": (
        "Your password was changed, which ended your sign-in. Sign in with the new "
        "password."
    ),
    "rest.cancel": "The job was asked to cancel.",
    "services.service.start": "The service was started.",
    "services.service.stop": "The service was stopped.",
    "services.service.edit": "The service was updated.",
    "services.permissions.add": "The permission was set.",
    "jobs.job.cancel": "The job was asked to cancel.",
    "jobs.job.delete": "The job was deleted.",
    "jobs.purgeQueue": "The queued jobs were cancelled.",
    "security.tokens.update": "The token settings were saved.",
    "security.users.add": "The user was added.",
    "security.users.update": "The user was updated.",
    "security.users.remove": "The user was removed.",
    "security.users.assignRoles": "The roles were assigned.",
    "security.users.removeRoles": "The roles were removed from the user.",
    "security.roles.add": "The role was added.",
    "security.roles.update": "The role was updated.",
    "security.roles.remove": "The role was removed.",
    "security.roles.addUsersToRole": "The users were added to the role.",
    "security.roles.removeUsersFromRole": "Those users are not in the role now.",
    "security.roles.assignPrivilege": "The privilege was assigned.",
    "system.directories.edit": "The directory settings were updated.",
    "system.directories.clean": "The jobs directory was cleaned.",
}


def notice_for(value: str) -> str | None:
    """The sentence for a notice cookie's value: an operation, and maybe a count."""
    operation, _, count = value.partition(":")
    text = NOTICES.get(operation)
    if text is None or not count.isdigit():
        return text
    removed = int(count)
    return f"{text[:-1]}: {removed} job{'' if removed == 1 else 's'} removed."
