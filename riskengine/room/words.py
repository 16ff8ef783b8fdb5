"""The words the room shows: sectors, principles, phases, the prebrief.

Plain English, no scores, no "correct". The principle titles are the engine's (a test checks
them against the training debrief's own).

Imports: the standard library only.
"""

from __future__ import annotations

__all__ = ["GROUND_RULES", "PRINCIPLES", "SECTORS", "STATUS"]

SECTORS: dict[str, str] = {
    "nhs": "NHS",
    "adult_social_care": "Adult social care",
    "voluntary_sector": "Voluntary sector",
    "carers": "Carer",
    "service_users": "Someone who uses services",
    "students": "Student",
    "housing": "Housing",
    "police": "Police",
    "education": "Education",
    "primary_care": "Primary care (GP)",
}

PRINCIPLES: dict[str, str] = {
    "felton.1": "Deciding together",
    "felton.2": "Sharing information clearly",
    "felton.3": "Drawing on strengths",
    "felton.4": "Planning for how it goes",
    "felton.5": "Counting what could go well",
}

GROUND_RULES: tuple[str, ...] = (
    "There are no right or wrong answers here. We are learning from each other.",
    "Your answers are anonymous. Nobody, not even the facilitator, can see who chose what.",
    "The room's answers stay hidden until we have all answered and the facilitator shows them.",
    "There is no timer and no score. Take the time you need.",
    "What is said in the room stays in the room. Talk about the learning, not about the people.",
    "You can step out at any time, for any reason, and come back when you are ready.",
    "Please do not write names or details that could identify anyone.",
)

# What the live region announces when the phase changes (for screen readers).
STATUS: dict[str, str] = {
    "lobby": "You are in. The session will start soon.",
    "prebrief": "Before we start: how we work together today.",
    "stage": "A new part of the story.",
    "open": "The question is open. Choose what you would do.",
    "closed": "Answers are closed.",
    "table_talk": "Talk it through at your tables.",
    "reveal": "The room's answers are on the main screen.",
    "happened": "What actually happened.",
    "debrief": "What the principles ask.",
    "closing": "Closing reflection.",
    "ended": "The session has ended. Thank you.",
}
