"""Online consultations: a hospital's clinics, the queue at each clinic's link, and 1:1 video consultations (DESIGN.md)."""
