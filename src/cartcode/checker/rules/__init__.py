"""checker/rules"""
