"""Route optimiser (线路优化): which outlets on which day and in which order.

A library with no models. The interface, problem in and plan out:

- ``problem``: ``Location``, ``Stop``, ``WeekProblem`` in; ``WeekPlan`` of ``DayRoute`` and
  ``Unplaced`` out; ``week_problem_validate``.
- ``solver``: ``solve_week`` (the week, balanced workloads, minimum travel),
  ``solve_single_route`` (one day's order) and ``solve_instance`` (TSPLIB / CVRPLIB / Solomon
  instances, for the benchmarks), all through the PyVRP wrapper in ``engine``.
- ``distances``: ``HaversineDistance`` (default), ``OsrmDistance`` (when
  ``settings.ROUTING_OSRM_URL`` is set), ``distance_source_from_settings``.
- ``baseline``: ``nearest_neighbour_week``, the hand-made week the optimiser is measured against.
"""
