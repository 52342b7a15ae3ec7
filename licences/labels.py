"""Certificate wording in English, French and Dutch (the certificate's language is chosen at issue)."""

LABELS = {
    "en": {
        "title": "Product certificate", "number": "Certificate number", "holder": "Licence-holder",
        "company_number": "Company number", "site": "Production site", "mark": "Mark", "regulation": "Regulation",
        "version": "version", "licence": "Licence", "granted_on": "Granted on", "valid_until": "Valid until",
        "issued_on": "Issued on", "products": "Certified products", "product": "Product", "category": "Category",
        "code": "Quick code", "characteristics": "Declared characteristics", "body": "Certification body",
        "verify": "Verify the current status of this certificate at",
        "statement": "The certification body certifies that the products listed below, made at the site "
                     "named above, conform to the regulation indicated, under the surveillance of the body.",
        "supersedes": "This version replaces all previous versions of the certificate.",
    },
    "fr": {
        "title": "Certificat de produit", "number": "Numéro du certificat", "holder": "Titulaire de licence",
        "company_number": "Numéro d'entreprise", "site": "Site de production", "mark": "Marque",
        "regulation": "Règlement", "version": "version", "licence": "Licence", "granted_on": "Octroyée le",
        "valid_until": "Valable jusqu'au", "issued_on": "Émis le", "products": "Produits certifiés",
        "product": "Produit", "category": "Catégorie", "code": "Code rapide",
        "characteristics": "Caractéristiques déclarées", "body": "Organisme de certification",
        "verify": "Vérifiez le statut actuel de ce certificat sur",
        "statement": "L'organisme de certification certifie que les produits ci-dessous, fabriqués sur le site "
                     "indiqué, sont conformes au règlement mentionné, sous la surveillance de l'organisme.",
        "supersedes": "Cette version remplace toutes les versions précédentes du certificat.",
    },
    "nl": {
        "title": "Productcertificaat", "number": "Certificaatnummer", "holder": "Licentiehouder",
        "company_number": "Ondernemingsnummer", "site": "Productiezetel", "mark": "Merk", "regulation": "Reglement",
        "version": "versie", "licence": "Licentie", "granted_on": "Toegekend op", "valid_until": "Geldig tot",
        "issued_on": "Uitgegeven op", "products": "Gecertificeerde producten", "product": "Product",
        "category": "Categorie", "code": "Snelcode", "characteristics": "Verklaarde kenmerken",
        "body": "Certificatie-instelling", "verify": "Controleer de actuele status van dit certificaat op",
        "statement": "De certificatie-instelling verklaart dat de hieronder vermelde producten, vervaardigd op de "
                     "vermelde zetel, conform zijn aan het vermelde reglement, onder toezicht van de instelling.",
        "supersedes": "Deze versie vervangt alle vorige versies van het certificaat.",
    },
}


def labels_for(language):
    return LABELS.get(language, LABELS["en"])
