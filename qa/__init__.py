"""qa: answers questions about a set of multilingual news articles, every claim cited.

from qa import answer
a = answer("Why did John Schulman leave OpenAI?")
print(a.text, [c.quote for c in a.citations])
"""

from qa.answering.assistant import Assistant, answer
from qa.types import Answer, Chunk, Citation, Document, Passage, Reason, Removal, SourcesFound, TextDelta

__all__ = [
    "answer",
    "Answer",
    "Assistant",
    "Citation",
    "Chunk",
    "Document",
    "Passage",
    "Reason",
    "Removal",
    "SourcesFound",
    "TextDelta",
]
