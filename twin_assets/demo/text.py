"""Sentence pools and small composers for message text.

Templates are plain ``str.format`` strings over a fixed set of fields. Topic pools carry their
keywords verbatim so topic detection has something real to find; sentiment pools are unambiguous
so the planted sentiment labels are fair.
"""

from __future__ import annotations

import random

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PLACES = (
    "the café on Oranienstraße",
    "Tempelhofer Feld",
    "the usual Italian place",
    "Markthalle Neun",
    "the climbing gym",
    "our place",
    "the park by the canal",
    "the Vietnamese place on Kantstraße",
)
TIMES = ("7pm", "half past six", "noon", "10 tomorrow", "after work", "around 8")

TOPICS: dict[str, dict] = {
    "lighthouse": {
        "label": "Project Lighthouse (vector search)",
        "keywords": ["lighthouse", "vector search", "embeddings", "reindex", "recall"],
        "subjects": (
            "Lighthouse: reindex plan",
            "Lighthouse embeddings benchmark",
            "Vector search recall numbers",
            "Lighthouse rollout checklist",
            "Lighthouse: index sharding proposal",
        ),
        "sentences": (
            "The Lighthouse reindex finished overnight and recall on the eval set went up to {n}%.",
            "Can we look at the Lighthouse embeddings again? The vector search latency doubled after the reindex.",
            "I pushed the Lighthouse benchmark notebook; recall@10 is {n}% with the new embeddings.",
            "For Lighthouse we should shard the vector search index by tenant before the next reindex.",
            "Lighthouse demo went well, they asked about recall on long documents and embeddings drift.",
            "Reminder: the Lighthouse reindex window is {day} night, vector search stays read-only.",
        ),
        "chat": (
            "lighthouse reindex is at {n}% 🚀",
            "recall dropped after the embeddings swap, looking",
            "who owns the vector search dashboard for lighthouse?",
            "lighthouse standup moved to {time}",
            "new embeddings model is in staging for lighthouse",
            "reindex done, recall {n}% on the eval set",
        ),
    },
    "harbor": {
        "label": "Project Harbor (Nordwind data pipeline)",
        "keywords": ["harbor", "pipeline", "dashboard", "backfill"],
        "subjects": (
            "Harbor pipeline backfill",
            "Harbor dashboard numbers",
            "Harbor: nightly job failed",
            "Harbor data contract",
        ),
        "sentences": (
            "The Harbor pipeline backfill for last quarter is at {n}%, should finish by {day}.",
            "Harbor dashboard shows the right numbers again after the backfill.",
            "The nightly Harbor pipeline failed on the customer table, I restarted it.",
            "Can you review the Harbor data contract before {day}? The dashboard team is waiting.",
        ),
        "chat": (),
    },
    "marathon": {
        "label": "Marathon training",
        "keywords": ["marathon", "long run", "tempo run", "pace"],
        "subjects": ("Long run on {day}?", "Marathon plan week {n}", "Pace for the tempo run"),
        "sentences": (
            "Long run on {day}? I was thinking 24 km at an easy pace along the canal.",
            "Week {n} of the marathon plan done, my legs are complaining but the pace is getting better.",
            "The tempo run today was brutal, {n} minutes at marathon pace.",
            "Did you register for the Berlin marathon yet? The long run group meets at {time}.",
        ),
        "chat": (
            "long run {day} at {time}? 🏃",
            "marathon plan says 30 km this weekend 😅",
            "tempo run was great today, pace felt easy",
            "registered for the marathon!!",
        ),
    },
    "renovation": {
        "label": "Kitchen renovation",
        "keywords": ["renovation", "kitchen", "tiles", "contractor"],
        "subjects": ("Kitchen renovation quote", "Tiles for the kitchen", "Contractor dates"),
        "sentences": (
            "The contractor says the kitchen renovation takes {n} more days because the tiles are late.",
            "I picked the green tiles for the kitchen, the contractor agreed to start on {day}.",
            "Renovation update: the kitchen has water again, only the tiles are missing.",
        ),
        "chat": (
            "kitchen renovation day {n}, dust everywhere",
            "contractor is late again with the tiles",
            "renovation almost done, kitchen looks amazing",
        ),
    },
    "wedding": {
        "label": "Sibling's wedding",
        "keywords": ["wedding", "venue", "guest list", "speech"],
        "subjects": ("Wedding guest list", "Wedding venue visit", "Your speech for the wedding"),
        "sentences": (
            "Can you help with the guest list for the wedding? We are at {n} people already.",
            "We visited the venue for the wedding on {day}, it has a garden by the lake.",
            "Would you give a short speech at the wedding? Nothing long, just a few words.",
        ),
        "chat": ("wedding venue is booked 🎉", "guest list is at {n} now", "working on my wedding speech"),
    },
}

WORK_SUBJECTS = (
    "Sprint planning notes",
    "PR review for the ingestion job",
    "Quarterly goals draft",
    "Incident follow-up",
    "Offsite agenda",
    "Interview feedback",
    "On-call handover",
    "Design doc: retry policy",
    "Team lunch {day}",
    "Access request",
)
WORK_SENTENCES = (
    "Could you take a look before {day}? No rush otherwise.",
    "I added my comments in the doc, mostly small things.",
    "The deploy went out at {time} without problems.",
    "Let's discuss it in the next standup.",
    "I moved the ticket to done, the retry logic handles the timeouts now.",
    "The interview loop for the new candidate is scheduled for {day}.",
    "Thanks for covering on-call last week.",
    "I will be out on {day} afternoon, ping me on the phone if something burns.",
    "Attached are the notes from today's planning; {n} tickets made it into the sprint.",
)
PERSONAL_SUBJECTS = (
    "Dinner {day}?",
    "Photos from the weekend",
    "Board game night",
    "Quick question",
    "Happy birthday!",
    "Book recommendation",
    "Plans for the holidays",
    "Catching up",
)
PERSONAL_SENTENCES = (
    "Are you free on {day}? We could meet at {place} around {time}.",
    "I finally uploaded the photos from the weekend, some of them are really nice.",
    "We are doing a board game night on {day}, bring snacks if you can.",
    "Have you read the book I mentioned? I am halfway through and can't put it down.",
    "How is everything with you? It has been a while.",
    "Mum asked if we are coming for lunch on {day}.",
    "I found the recipe we talked about, it needs {n} eggs though.",
    "The weather was lovely, we walked along the canal for hours.",
)
CHAT_LINES = (
    "anyone up for {place} on {day}?",
    "running {n} min late, sorry!",
    "haha yes",
    "😂😂",
    "on my way",
    "who has the charger?",
    "see you at {time}",
    "that was such a nice evening ❤️",
    "ok 👍",
    "can someone send the address again?",
    "I'll bring dessert",
    "happy friday everyone",
    "did you see the news about the S-Bahn strike?",
    "good night!",
    "photos please 📸",
)
SLACK_LINES = (
    "morning! standup in 5",
    "PR is up for review: <https://git.heliolabs.example/data/pull/{n}|#{n}>",
    "deploy to staging done",
    "can someone check the failing test on main?",
    "lunch at {time}?",
    "I'll be a bit late today",
    "thanks, that fixed it 🙏",
    "docs updated",
    "retro notes are in the wiki",
    "on-call handover: nothing open",
    "the build cache is slow again",
    "merged, thanks for the review",
)

POSITIVE = (
    "I am so happy for you, congratulations! This is wonderful news and you really deserve it.",
    "Thank you so much, that was incredibly kind of you. It made my whole week.",
    "What a fantastic evening, I loved every minute. Let's do it again soon!",
    "Great work on the release, everyone is thrilled with how smooth it went.",
    "I'm delighted with the new apartment, it's bright and beautiful and we love it.",
    "Congratulations on the new job, I'm so proud of you! This is wonderful.",
    "So excited for you, the new job sounds amazing and you totally deserve it!",
)
NEGATIVE = (
    "I'm really disappointed and angry that you cancelled again. Honestly it hurts.",
    "This is the third time you've ignored what I said. I'm tired of it and frankly upset.",
    "That was awful and unfair. I feel hurt and I don't want to talk about it right now.",
    "I'm frustrated and sad about how this went. You let me down badly.",
    "Stop. This is ridiculous and insulting, I'm furious about what you wrote.",
    "I'm so annoyed, this whole situation is a terrible mess and it's your fault.",
)
NEUTRAL = (
    "The meeting is moved to {time} in room 2.14.",
    "The invoice for {month} is attached as a PDF.",
    "The train leaves at {time} from platform 4.",
    "Your parcel will be delivered on {day} between 10:00 and 14:00.",
)


def fill(rng: random.Random, template: str, **extra: str) -> str:
    values = {
        "day": rng.choice(WEEKDAYS),
        "place": rng.choice(PLACES),
        "time": rng.choice(TIMES),
        "n": str(rng.randint(2, 97)),
        "month": rng.choice(("March", "June", "September", "December")),
    }
    values.update(extra)
    return template.format(**values)


def sentences(rng: random.Random, pool: tuple[str, ...], k: int) -> str:
    picks = rng.sample(pool, min(k, len(pool)))
    return " ".join(fill(rng, s) for s in picks)


def greeting(rng: random.Random, name: str, formal: bool) -> str:
    if formal:
        return rng.choice((f"Hi {name},", f"Hello {name},", f"Dear {name},"))
    return rng.choice((f"Hey {name}!", f"Hi {name},", f"{name}!", "Hey,"))


def signoff(rng: random.Random, name: str, formal: bool) -> str:
    if formal:
        return rng.choice((f"Best,\n{name}", f"Thanks,\n{name}", f"Cheers,\n{name}", f"Best regards,\n{name}"))
    return rng.choice((f"x {name}", f"Love,\n{name}", f"Cheers,\n{name}", name))
