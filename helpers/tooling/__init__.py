"""The course's own machinery, behind the learner's modules: the command line (``python -m helpers``),
``make reproduce``, the benchmark, the README and notebook tooling, recorded results and the
exercises' reference solutions. A learner never needs to import anything from here.

* ``paths``: where the repository, figures/, notebooks/ and the README are.
* ``records``: the one format of every recorded result under figures/ (stamped CSV).
* ``cli``: ``python -m helpers reproduce|bench|latency|notebooks|readme``.
* ``reproduce``, ``bench``: the main job and the predictor's benchmark.
* ``readme``, ``notebooks``: the README's generated blocks; executing the notebooks.
* ``exercises``: every notebook's exercises, registered with ``helpers.checks``.
"""
