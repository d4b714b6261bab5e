"""The HTML pages of the Services and Administrator Directories.

A page is a resource's JSON data laid out by a *view*: a function, registered under
a name, that picks a template and adds what the page shows beside the data (a
task's form, a job's results, a user list). :mod:`pages` frames every page the same
way; :mod:`session` signs people in and out.
"""
