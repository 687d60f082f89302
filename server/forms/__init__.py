"""Collection forms for any organisation: health reports, staff check-ins, surveys.

A form is a title and numbered versions; a version's definition is a list of
typed fields with skip logic, validation and "abnormal" rules
(``definition.py``). Answers are checked against the version they were given
for (``answers.py``); a change to a form makes a new version and submissions
keep theirs. Rounds (a form sent to an audience, once or on a recurrence),
submissions, reminders, dashboards and exports build on these.
"""
