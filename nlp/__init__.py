"""Offline keyword understanding of guest messages (Simplified / Traditional Chinese, English, mixed).

Pure and synchronous; imports nothing else of Concierge. Usage::

    from nlp import Analyzer
    analyzer = Analyzer(room_types={"king": ["大床房", "king bed"]}, timezone="Asia/Shanghai", cache_dir=data_dir)
    analysis = analyzer.analyze("明晚还有大床房吗？住两晚")
"""

from nlp.analysis import CATEGORIES, FAQ_TOPICS, LANGS, SENTIMENTS, URGENCIES, Analysis
from nlp.analyzer import Analyzer

__all__ = ["Analyzer", "Analysis", "CATEGORIES", "FAQ_TOPICS", "LANGS", "SENTIMENTS", "URGENCIES"]
