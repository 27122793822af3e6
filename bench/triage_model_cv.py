"""The earlier measurement docs/triage.md mentions under "The second opinion": 5-fold
cross-validation on development.yaml alone (249 reports) of a small classifier (TF-IDF on lemmas and
lemma pairs, one logistic regression per category) alone and beside the rules — no gain then. The
second opinion as shipped is measured on the validation split by
`python -m services.triage.train_model --validate`.

Needs scikit-learn (a test dependency): .venv/bin/python bench/triage_model_cv.py
Reads only tests/triage_corpus/development.yaml (the held-out part is never used to tune).
"""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from services.triage import domain
from services.triage.evaluation import PARTS, incident_of, load_part
from shared import vocabulary
from shared.dutch_phrases import analyse
from shared.triage_rules import default_rules


def score(predicted, expected) -> tuple[float, float]:
    tp = (predicted & expected).sum()
    return tp / expected.sum(), tp / max(predicted.sum(), 1)


def main():
    items = load_part(PARTS["development"])
    rules = default_rules()
    docs = [" ".join(t.lemma for t in analyse(it["text"]).tokens) for it in items]
    cats = [c for c in vocabulary.CATEGORIES if c != "overig"]
    expected = np.array([[c in it["expected"]["categories"] for c in cats] for it in items])
    by_rules = np.array([[c in domain.triage(incident_of(it), rules, it["text"]).categories for c in cats]
                         for it in items])
    print("rules alone: recall %.3f precision %.3f" % score(by_rules, expected))
    for c in (3, 10, 30):
        for threshold in (0.4, 0.5, 0.6, 0.7, 0.8):
            alone = np.zeros_like(expected)
            for train, test in KFold(5, shuffle=True, random_state=1).split(docs):
                vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
                x = vec.fit_transform([docs[i] for i in train])
                x_test = vec.transform([docs[i] for i in test])
                for j in range(len(cats)):
                    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, expected[train, j])
                    alone[test, j] = model.predict_proba(x_test)[:, 1] >= threshold
            print(f"C={c} threshold {threshold}: model alone %.3f/%.3f, rules and model %.3f/%.3f"
                  % (*score(alone, expected), *score(alone | by_rules, expected)))


if __name__ == "__main__":
    main()
