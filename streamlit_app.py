"""placesim in the browser: compare Places for Growth scenarios and plan locations, offline.

The entry point ``streamlit run`` (and ``placesim app``) starts; the page lives in the
``placesim_app`` package, a thin view over the placesim library.

Streamlit runs this file as ``__main__``. The guard matters: the band workers are started
with the ``spawn`` method, which imports the parent's ``__main__`` file in every new worker
(as ``__mp_main__``); unguarded, each worker drew the whole page (a full expected-value run,
maps and all: about 3.5 s of CPU) before its first job, and a worker drawing the page could
start a pool of its own while still starting up (the likely cause of a BrokenProcessPool seen
when the workers were started with the app).
"""

from placesim_app.page import main

if __name__ == "__main__":
    main()
