"""Email: tracking mailbox messages in Dynamics 365 and sending the user's "Pending Send" emails.

- ``common``: the settings read once per run, the run's error log, links and stamps;
- ``lookup``: the correlation look-ups in Dynamics 365 (one message, or a page together);
- ``track``: tracking in (mailbox -> Dynamics 365);
- ``send``: sending out (Dynamics 365 -> mailbox);
- ``recover``: finishing what a crash left, before anything new is sent or created;
- ``kind``: the email kind's run.

The Dataverse side (queries, creates, marking sent, the attachments) is ``wizard.crm.emails``.
"""

from wizard.sync.email.kind import EmailSync

__all__ = ["EmailSync"]
