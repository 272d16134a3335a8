"""placesim in the browser: compare Places for Growth scenarios and plan locations, offline.

The entry point ``streamlit run`` (and ``placesim app``) starts; the page lives in the
``placesim_app`` package, a thin view over the placesim library.
"""

from placesim_app.page import main

main()
