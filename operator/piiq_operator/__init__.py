"""The PIIQueue operator: kopf handlers over pure builders (spec -> Kubernetes manifests).

Modules, one job each: ``crd`` loads the CRD shipped in this package, ``schema`` checks a
value against its structural schema with its defaults, ``spec`` parses and validates a
PIIQueue spec (the schema plus what it cannot say), ``sizing`` and
``autoscale`` decide replicas, ``manifests`` builds the children, ``status`` computes the
status and conditions, ``backlog`` reads queue depth from the database, ``kube`` talks to
the API server, ``reconcile`` ties them together, ``handlers`` registers them with kopf
and ``cli`` is ``piiq operator``.
"""

GROUP = "piiq.dev"
VERSION = "v1alpha1"
PLURAL = "piiqueues"
KIND = "PIIQueue"
API_VERSION = f"{GROUP}/{VERSION}"
MANAGER = "piiq-operator"
