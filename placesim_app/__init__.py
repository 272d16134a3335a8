"""The placesim browser app (Streamlit): a thin view over the placesim library.

``streamlit_app.py`` at the repository root runs :func:`placesim_app.page.main`. The library
(``placesim``) never imports streamlit; everything that decides numbers lives there.
"""
