"""Adds sampling objects to the test world (body A's with secret markers), see tests/world.py.

Everything is created here under ``sm_*`` names so that it does not depend on the other apps' worlds:
a regulation, product and licence of ``holder``, a visit assigned to ``inspector``, and a sample sent to
``lab`` that went through to a reported result with conformity outcomes. Secrets sit in the sample's
inspector notes and seal number and in the self-monitoring batches.
"""

from sampling import demo


def extend(world, body_ns, secret):
    ref = demo.reference_data()
    ns = body_ns
    ns.sm_regulation = demo.build_regulation(ns.body, ref, code=f"TRA-SM-{ns.body.code}")
    quick_code = "97310001" if secret.startswith("SECRETA") else "97310002"
    ns.sm_licensed = demo.build_licence(ns.body, ns.holder, ref, ns.sm_regulation.version,
                                        number=f"SM-{ns.body.code}-1", quick_code=quick_code, secret=secret)
    ns.sm_chain = demo.build_sample_chain(ns.body, holder=ns.holder, inspector=ns.inspector, laboratory=ns.lab,
                                          lab_user=ns.lab_user, regulation=ns.sm_regulation,
                                          licensed=ns.sm_licensed, secret=secret)
    ns.sm_sample = ns.sm_chain.sample
    ns.sm_result = ns.sm_chain.result
    ns.sm_self_result = ns.sm_licensed.product.self_monitoring.order_by("pk").first()
    ns.sm_outcome = next(o for o in ns.sm_chain.outcomes if o.status == "proposed")
