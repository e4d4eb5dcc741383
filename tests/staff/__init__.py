"""Web tests of the clinic's side: sign-in, roles, invitations, e-mail, review, audit, kiosk."""
