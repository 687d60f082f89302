"""A person's data in one organisation, exported or erased on request, as PIPL (art. 45, 47) and GDPR (art. 15, 17) expect.

An organisation's admin does it for a member (the organisation is the one
that holds the data: actions.py); a person downloads their own data, and
someone who is no organisation's member (an external contact) deletes their
own account (own.py). Every export and erasure goes into the audit log. Each
part of the product that keeps personal data registers a ``PersonalDataPart``
(``parts.py``): the platform's own (the membership, groups, files) and each
capability's, so the platform never needs to know what a capability stores.
"""
